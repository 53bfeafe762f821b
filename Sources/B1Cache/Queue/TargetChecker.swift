import Foundation

/// Checks a write against the cached items it targets (SPEC §5): the missed-billing items, invoice, contract and
/// line exist, and tax edits touch only draft lines. A collection the cache does not hold is not checked: the
/// server has the last word, and offline work must not be blocked by a cache that was never synced.
///
/// Envelopes are loaded once per checker and kept, so a batch (or a benchmark's thousand enqueues) reads each
/// collection once.
public final class TargetChecker {
    private let store: CacheStore
    private var loaded: [CollectionName: [String: JSONValue]?] = [:]

    public init(store: CacheStore) { self.store = store }

    /// Items of `collection` by id; nil when the collection is not cached.
    func items(_ collection: CollectionName) throws -> [String: JSONValue]? {
        if let cached = loaded[collection] { return cached }
        var byId: [String: JSONValue]?
        if let envelope = try store.envelope(for: collection) {
            var index: [String: JSONValue] = [:]
            index.reserveCapacity(envelope.items.count)
            for item in envelope.items { if let id = item["id"]?.stringValue { index[id] = item } }
            byId = index
        }
        loaded[collection] = byId
        return byId
    }

    /// - Throws: `QueueError.targetNotFound` or `.notEditable`; `StoreError` if a target envelope is corrupt.
    public func check(kind: WriteKind, payload: JSONObject) throws {
        switch kind {
        case .missedBillingAction:
            try requireOpenItem(field: "itemId", id: payload["itemId"]?.stringValue)
        case .missedBillingApply:
            for (index, id) in (payload["itemIds"]?.arrayValue ?? []).enumerated() {
                try requireOpenItem(field: "itemIds[\(index)]", id: id.stringValue)
            }
            try requireItem(.contracts, field: "mapping.contractId", id: payload["mapping"]?["contractId"]?.stringValue)
        case .generatedInvoiceLineTax:
            guard let invoice = try requireItem(.generatedInvoices, field: "invoiceId",
                                                id: payload["invoiceId"]?.stringValue) else { return }
            _ = try requireLine(of: invoice, payload: payload)
            let status = invoice["status"]?.stringValue ?? "unknown"
            guard status == "draft" else {
                throw QueueError.notEditable(field: "invoiceId",
                                             reason: "generated invoice is '\(status)', and only lines of drafts can change")
            }
        case .contractLineTax:
            guard let contract = try requireItem(.contracts, field: "contractId",
                                                 id: payload["contractId"]?.stringValue) else { return }
            let line = try requireLine(of: contract, payload: payload)
            let status = line["status"]?.stringValue ?? "unknown"
            guard status == "draft" else {
                throw QueueError.notEditable(field: "lineId", reason: "contract line is '\(status)', not a draft")
            }
        }
    }

    /// The checks against the pending writes, which the cache does not show yet: an action or an apply on a
    /// missed-billing item that a pending apply (or an earlier request of the batch) applies is refused, because the
    /// server answers 409 once the apply is in. Tax edits change nothing that another pending write could.
    /// - Parameter appliedBy: item id → the pending apply's write id (nil for one of this batch).
    /// - Throws: `QueueError.appliedByPendingWrite`.
    public func checkAgainstPending(kind: WriteKind, payload: JSONObject, appliedBy: [String: String?]) throws {
        guard !appliedBy.isEmpty else { return }
        let named: [(field: String, id: String?)]
        switch kind {
        case .missedBillingAction:
            named = [("itemId", payload["itemId"]?.stringValue)]
        case .missedBillingApply:
            named = (payload["itemIds"]?.arrayValue ?? []).enumerated().map {
                ("itemIds[\($0.offset)]", $0.element.stringValue)
            }
        case .generatedInvoiceLineTax, .contractLineTax:
            return
        }
        for (field, id) in named {
            guard let id, let writeId = appliedBy[id] else { continue }
            throw QueueError.appliedByPendingWrite(field: field, itemId: id, writeId: writeId)
        }
    }

    @discardableResult
    private func requireItem(_ collection: CollectionName, field: String, id: String?) throws -> JSONValue? {
        guard let id, let items = try items(collection) else { return nil }
        guard let item = items[id] else { throw QueueError.targetNotFound(field: field, id: id, collection: collection) }
        return item
    }

    /// A missed-billing item that was applied is final on the server (it answers 409), so nothing is queued for it.
    private func requireOpenItem(field: String, id: String?) throws {
        guard let item = try requireItem(.missedBilling, field: field, id: id) else { return }
        if item["status"]?.stringValue == "applied" {
            throw QueueError.notEditable(field: field, reason: "missed-billing item '\(id ?? "")' was already applied")
        }
    }

    private func requireLine(of owner: JSONValue, payload: JSONObject) throws -> JSONValue {
        let lineId = payload["lineId"]?.stringValue ?? ""
        guard let line = owner["lines"]?.arrayValue?.first(where: { $0["id"]?.stringValue == lineId }) else {
            let ownerId = owner["id"]?.stringValue ?? "?"
            throw QueueError.notEditable(field: "lineId", reason: "'\(ownerId)' has no line '\(lineId)'")
        }
        return line
    }
}
