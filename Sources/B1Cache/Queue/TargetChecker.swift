import Foundation

/// Checks writes against the cached items they target (SPEC §5): each kind says what it needs
/// (`WritePayload.checkTargets`), with the lookups here. A collection the cache does not hold is not checked: the
/// server has the last word, and offline work must not be blocked by a cache that was never synced.
///
/// Envelopes are loaded once per checker and kept, so a batch (or a benchmark's thousand enqueues) reads each
/// collection once.
public final class TargetChecker {
    private let store: CacheStore
    private var loaded: [CollectionName: [String: JSONValue]?] = [:]

    /// A checker reading the envelopes of `store` (each collection once).
    public init(store: CacheStore) { self.store = store }

    /// Checks a payload that passed `PayloadValidator.check` against the cache: the missed-billing items, invoice,
    /// contract and line exist, and tax edits touch only draft lines.
    /// - Throws: `QueueError.targetNotFound` or `.notEditable`; `StoreError` if a target envelope is corrupt.
    public func check(kind: WriteKind, payload: JSONObject) throws {
        try kind.rules.init(reading: payload).checkTargets(in: self)
    }

    /// The checks against the pending writes, which the cache does not show yet: an action or an apply on a
    /// missed-billing item that a pending apply (or an earlier request of the batch) applies is refused, because the
    /// server answers 409 once the apply is in. Tax edits change nothing that another pending write could.
    /// - Parameter appliedBy: item id → the pending apply's write id (nil for one of this batch).
    /// - Throws: `QueueError.appliedByPendingWrite`.
    public func checkAgainstPending(kind: WriteKind, payload: JSONObject, appliedBy: [String: String?]) throws {
        try kind.rules.init(reading: payload).checkAgainstPending(appliedBy: appliedBy)
    }

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

    /// The cached item `id` of `collection`; nil when there is no id or the collection is not cached.
    /// - Throws: `QueueError.targetNotFound` naming `field` when the collection is cached without the item.
    @discardableResult
    func requireItem(_ collection: CollectionName, field: String, id: String?) throws -> JSONValue? {
        guard let id, let items = try items(collection) else { return nil }
        guard let item = items[id] else {
            throw QueueError.targetNotFound(field: field, id: id, collection: collection)
        }
        return item
    }

    /// A missed-billing item that was applied is final on the server (it answers 409), so nothing is queued for it.
    func requireOpenItem(field: String, id: String?) throws {
        guard let item = try requireItem(.missedBilling, field: field, id: id) else { return }
        if item["status"]?.stringValue == "applied" {
            throw QueueError.notEditable(field: field, reason: "missed-billing item '\(id ?? "")' was already applied")
        }
    }
}
