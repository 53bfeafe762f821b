import Foundation

/// What the two missed-billing kinds (`missed-billing.action`, `missed-billing.apply`) share about the item they
/// act on: its key for coalescing, and that an applied item is final on the server (it answers 409 to anything
/// after an apply, and refuses a write whole when one of its items is applied).
enum MissedBillingItem {
    /// The item's key in `WritePayload.supersedeKey` and `touchedKeys`, the same for both kinds, so that an apply
    /// stops an action's search for a pending action on the same item.
    static func key(_ id: String) -> String { "\(CollectionName.missedBilling.rawValue)/\(id)" }

    /// Whether one of `targets` is applied, in the cache or by an earlier pending write.
    static func anyApplied(_ targets: [JSONObject]) -> Bool {
        targets.contains { $0["status"]?.stringValue == "applied" }
    }

    /// Refuses the first named item a pending apply (or an earlier request of the batch) applies.
    /// - Parameter named: the items the write acts on, with the payload field naming each.
    static func requireNotApplied(_ named: [(field: String, id: String)], appliedBy: [String: String?]) throws {
        guard !appliedBy.isEmpty else { return }
        for (field, id) in named {
            guard let writeId = appliedBy[id] else { continue }
            throw QueueError.appliedByPendingWrite(field: field, itemId: id, writeId: writeId)
        }
    }
}
