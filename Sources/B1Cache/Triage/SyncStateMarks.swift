import Foundation

/// Where a cached item stands against the server. An item no write touches is as the server last sent it
/// ("synced") and carries no mark; the envelope files hold server truth only, whatever is marked.
public enum SyncState: String, Sendable, CaseIterable {
    /// A write in `queue/` touches the item: not on the server yet.
    case pending
    /// A write in `failed/` touches the item: the server refused it (or its attempts ran out); the reason is kept.
    case failed
}

/// The `_sync` mark on items touched by a pending or failed write (issue 16; docs/FORMATS.md §3):
///
/// ```json
/// "_sync": {"state": "failed", "error": "409 conflict: …",
///           "writes": [{"id": "3c2e…", "kind": "contract.line-tax", "state": "failed", "attempts": 1, "error": "409 …"}]}
/// ```
///
/// `state` is `failed` when any failed write touches the item (it needs a person), else `pending`; `error` is the
/// reason of the newest failed write (null while only pending); `writes` lists every touching write, oldest first.
/// A mark describes; it changes nothing else: the local effects are `PendingOverlay`'s (`--with-pending`).
public enum SyncStateMarks {
    /// The member that holds the mark.
    public static let marker = "_sync"

    /// The items of `collection` with a `_sync` mark on each one a write of `pending` or `failed` touches.
    public static func apply(
        pending: [PendingWrite], failed: [PendingWrite], to items: [JSONValue], collection: CollectionName
    ) -> [JSONValue] {
        let touching = writesByItem(pending: pending, failed: failed, collection: collection)
        guard !touching.isEmpty else { return items }
        return items.map { item in
            guard let id = item["id"]?.stringValue, let writes = touching[id], var object = item.objectValue else {
                return item
            }
            object[marker] = mark(writes)
            return .object(object)
        }
    }

    /// A write and the folder it is in.
    struct Touch {
        var write: PendingWrite
        var state: SyncState
    }

    /// For each item id of `collection`, the writes touching it, oldest first.
    static func writesByItem(
        pending: [PendingWrite], failed: [PendingWrite], collection: CollectionName
    ) -> [String: [Touch]] {
        let all = (pending.map { Touch(write: $0, state: .pending) } + failed.map { Touch(write: $0, state: .failed) })
            .filter { $0.write.kind.collection == collection }
        // Stable: writes of the same instant keep queue order, pending before failed.
        let ordered = all.indices.sorted {
            (all[$0].write.createdAt, $0) < (all[$1].write.createdAt, $1)
        }.map { all[$0] }
        var byItem: [String: [Touch]] = [:]
        for entry in ordered {
            for id in Set(entry.write.typedPayload.targetIds) { byItem[id, default: []].append(entry) }
        }
        return byItem
    }

    static func mark(_ writes: [Touch]) -> JSONValue {
        let newestFailure = writes.last { $0.state == .failed }
        let list: [JSONValue] = writes.map { entry in
            [
                "id": .string(entry.write.id), "kind": .string(entry.write.kind.rawValue),
                "state": .string(entry.state.rawValue), "attempts": .integer(entry.write.attempts),
                "error": .optionalString(entry.write.lastError),
            ]
        }
        return [
            "state": .string((newestFailure == nil ? SyncState.pending : .failed).rawValue),
            "error": newestFailure.map { .optionalString($0.write.lastError) } ?? .null,
            "writes": .array(list),
        ]
    }
}

/// How many items each write state holds, per collection: counted from the write files alone (no envelope is
/// read, so `inspect` stays fast), as the distinct item ids the writes name. An item touched by a failed write
/// counts as failed only, as its `_sync` mark says.
public struct ItemStateCounts: Sendable, Equatable {
    /// One collection's counts.
    public struct Count: Sendable, Equatable {
        /// Items touched by pending writes only.
        public var pending = 0
        /// Items touched by a failed write.
        public var failed = 0
    }

    /// Per collection; a collection no write touches is absent.
    public var byCollection: [CollectionName: Count] = [:]
    /// Write files that could not be read, so the items they touch are not counted.
    public var unreadableWrites = 0

    /// The sums over every collection.
    public var total: Count {
        byCollection.values.reduce(into: Count()) {
            $0.pending += $1.pending
            $0.failed += $1.failed
        }
    }

    /// One collection's counts (zero when no write touches it).
    public subscript(collection: CollectionName) -> Count { byCollection[collection] ?? Count() }

    /// Counts the items `pending` and `failed` touch.
    public init(pending: [PendingWrite], failed: [PendingWrite], unreadableWrites: Int = 0) {
        self.init(
            pendingTargets: pending.map { ($0.kind.collection, $0.touchedItemIds) }, failed: failed,
            unreadableWrites: unreadableWrites)
    }

    /// Counts the items of `pendingTargets` (each pending write's collection and items, from the queue index) and
    /// those `failed` touch.
    init(
        pendingTargets: [(collection: CollectionName, ids: [String])], failed: [PendingWrite], unreadableWrites: Int
    ) {
        let failedIds = Self.items(of: failed)
        var pendingIds: [CollectionName: Set<String>] = [:]
        for target in pendingTargets { pendingIds[target.collection, default: []].formUnion(target.ids) }
        var pending: [CollectionName: Int] = [:]
        for (collection, ids) in pendingIds { pending[collection] = ids.subtracting(failedIds[collection] ?? []).count }
        self.init(pendingCounts: pending, failedIds: failedIds, unreadableWrites: unreadableWrites)
    }

    /// Counts from `pendingCounts` (distinct items touched by pending writes only, by collection: from the queue
    /// index's header, `PendingItemCounts`) and the items `failed` touch.
    init(pendingCounts: [CollectionName: Int], failed: [PendingWrite], unreadableWrites: Int) {
        self.init(pendingCounts: pendingCounts, failedIds: Self.items(of: failed), unreadableWrites: unreadableWrites)
    }

    /// The items `writes` touch, by collection.
    static func items(of writes: [PendingWrite]) -> [CollectionName: Set<String>] {
        var ids: [CollectionName: Set<String>] = [:]
        for write in writes { ids[write.kind.collection, default: []].formUnion(write.touchedItemIds) }
        return ids
    }

    private init(pendingCounts: [CollectionName: Int], failedIds: [CollectionName: Set<String>], unreadableWrites: Int)
    {
        self.unreadableWrites = unreadableWrites
        for collection in Set(failedIds.keys).union(pendingCounts.keys) {
            let count = Count(pending: pendingCounts[collection] ?? 0, failed: failedIds[collection]?.count ?? 0)
            // A collection no write touches an item of is absent, however the counts were found.
            if count.pending + count.failed > 0 { byCollection[collection] = count }
        }
    }
}

extension PendingWrite {
    /// The ids of the items of `kind.collection` this write touches (the ones its `_pending` and `_sync` marks go on).
    public var touchedItemIds: [String] { typedPayload.targetIds }
}
