import Foundation

extension WriteKind {
    /// Bill one or many missed-billing items on a contract (bulk is the same kind).
    public static let missedBillingApply = WriteKind(MissedBillingApply.self)
}

/// `missed-billing.apply`: `{"itemIds": [1 to 500 ids], "mapping": {"contractId", ...}}` (docs/WRITES.md §2). The
/// mapping is open: members other than `contractId` are kept and passed to the server, within `MappingLimits`.
/// An apply is final on the server, so it never coalesces, in either direction.
struct MissedBillingApply: WritePayload {
    static let name = "missed-billing.apply"
    static let collection = CollectionName.missedBilling
    static let payloadHelp =
        #"{"itemIds": [\#(WriteLimits.applyItems.lowerBound) to "#
        + #"\#(WriteLimits.applyItems.upperBound) ids], "mapping": {"contractId", ...}}"#

    var itemIds: [String]
    /// As given, for the items' `appliedMapping`.
    var mapping: JSONValue?
    var contractId: String?

    init(validating payload: JSONObject, now: Date?) throws {
        let fields = PayloadFields(payload: payload)
        try fields.allowOnly(["itemIds", "mapping"])
        guard let ids = payload["itemIds"] else {
            throw QueueError.invalidField(field: "itemIds", reason: "is required")
        }
        guard let list = ids.arrayValue else {
            throw QueueError.invalidField(field: "itemIds", reason: "must be an array of ids, not \(ids.typeName)")
        }
        guard WriteLimits.applyItems.contains(list.count) else {
            let range = WriteLimits.applyItems
            throw QueueError.invalidField(
                field: "itemIds",
                reason: "must hold \(range.lowerBound) to "
                    + "\(range.upperBound) ids, not \(list.count)")
        }
        var seen = Set<String>()
        for (index, element) in list.enumerated() {
            guard let id = element.stringValue, !id.isEmpty, id.count <= WriteLimits.identifier else {
                throw QueueError.invalidField(
                    field: "itemIds[\(index)]",
                    reason: "must be a non-empty id of at "
                        + "most \(WriteLimits.identifier) characters")
            }
            guard seen.insert(id).inserted else {
                throw QueueError.invalidField(field: "itemIds[\(index)]", reason: "repeats '\(id)'")
            }
        }
        guard let mapping = payload["mapping"] else {
            throw QueueError.invalidField(field: "mapping", reason: "is required")
        }
        guard let mappingObject = mapping.objectValue else {
            throw QueueError.invalidField(field: "mapping", reason: "must be an object, not \(mapping.typeName)")
        }
        contractId = try PayloadFields(payload: mappingObject, prefix: "mapping.").identifier("contractId")
        try MappingLimits.check(mappingObject)
        itemIds = list.compactMap(\.stringValue)
        self.mapping = mapping
    }

    init(reading payload: JSONObject) {
        itemIds = (payload["itemIds"]?.arrayValue ?? []).compactMap(\.stringValue)
        mapping = payload["mapping"]
        contractId = payload["mapping"]?["contractId"]?.stringValue
    }

    func checkTargets(in cache: TargetChecker) throws {
        for (index, id) in itemIds.enumerated() { try cache.requireOpenItem(field: "itemIds[\(index)]", id: id) }
        try cache.requireItem(.contracts, field: "mapping.contractId", id: contractId)
    }

    func checkAgainstPending(appliedBy: [String: String?]) throws {
        let named = itemIds.enumerated().map { (field: "itemIds[\($0.offset)]", id: $0.element) }
        try MissedBillingItem.requireNotApplied(named, appliedBy: appliedBy)
    }

    var appliedItems: [String] { itemIds }
    var targetIds: [String] { itemIds }
    var supersedeKey: String? { nil }
    var touchedKeys: Set<String> { Set(itemIds.map(MissedBillingItem.key)) }
    // The server applies a write whole or not at all: one applied item makes it refuse every item.
    func isRefused(by targets: [JSONObject]) -> Bool { MissedBillingItem.anyApplied(targets) }

    func applyEffect(to item: inout JSONObject) {
        item["status"] = "applied"
        item["snoozeUntil"] = .null
        item["appliedMapping"] = mapping ?? .null
    }
}
