import Foundation

// What readers (`status`, `inspect`, the triage counts) take from `queue-index.jsonl` instead of reading the
// queue: each falls back to the folder when the index does not describe `queue/` as it is now.

/// The pending side of the triage counts from the index's header alone (`QueueIndex.Header.items`): how many
/// distinct items pending writes touch per collection, less those a failed write also touches (a failed item counts
/// as failed only). Those few are found by a scan of the index's bytes for each failed item, so the cost follows
/// the failed writes, not the queue; nil (count from the lines) without a fresh header carrying the counts, or with
/// more failed items than `maximumFailedItems`.
struct PendingItemCounts {
    /// Distinct items touched by pending writes only, by collection (none left out).
    var pending: [CollectionName: Int]

    static let maximumFailedItems = 256

    static func load(_ paths: CachePaths, failed: [PendingWrite]) -> PendingItemCounts? {
        guard var header = QueueIndex.freshHeader(paths) else { return nil }
        let failedIds = ItemStateCounts.items(of: failed)
        let failedItems = failedIds.values.reduce(0) { $0 + $1.count }
        var index: QueueIndexBody?
        if failedItems > 0 {
            guard failedItems <= maximumFailedItems, let body = QueueIndexBody.load(paths),
                body.header.queueModified == header.queueModified
            else { return nil }
            index = body
            header = body.header
        }
        guard let items = header.items else { return nil }
        var pending: [CollectionName: Int] = [:]
        for (name, count) in items {
            guard let collection = CollectionName(rawValue: name) else { return nil }
            pending[collection] = count
        }
        guard let index else { return PendingItemCounts(pending: pending) }
        for (collection, ids) in failedIds where pending[collection] != nil {
            for id in ids where Self.pending(id, in: collection, index: index, paths: paths) {
                pending[collection, default: 0] -= 1
            }
            if pending[collection] ?? 0 <= 0 { pending[collection] = nil }
        }
        return PendingItemCounts(pending: pending)
    }

    /// Whether a pending write touches `id` of `collection`, by the index's lines: a line counts when its file is
    /// still pending (every line is, when the header says the lines are exactly the pending files).
    private static func pending(_ id: String, in collection: CollectionName, index: QueueIndexBody, paths: CachePaths)
        -> Bool
    {
        index.lines(mentioning: id).values.contains { line in
            guard let read = index.targets(of: line), read.collection == collection.rawValue, read.ids.contains(id)
            else { return false }
            if index.header.exact { return true }
            guard let name = index.name(of: line) else { return false }
            return (try? CacheRoot.statusOf(paths.queued(name))) != nil
        }
    }
}

/// The collection and items each pending write touches (`PendingWrite.touchedItemIds`), for the triage counts:
/// from the index's lines while its header is fresh, for every listed file it has a line for (the others are
/// read); nil when the index is not fresh. `unreadable` counts the files that could not be read.
struct PendingTargets {
    var targets: [(collection: CollectionName, ids: [String])] = []
    var unreadable = 0

    static func load(_ paths: CachePaths) throws -> PendingTargets? {
        guard let header = QueueIndex.freshHeader(paths), let index = QueueIndexBody.load(paths) else { return nil }
        if header.exact {
            // One line per pending file and no other: no listing needed.
            var result = PendingTargets()
            for line in index.writeLines() {
                guard let read = index.targets(of: line), let collection = CollectionName(rawValue: read.collection)
                else { return nil }
                result.targets.append((collection, read.ids))
            }
            if result.targets.count == header.count { return result }
        }
        let queue = WriteQueue(paths: paths)
        let names = try queue.pendingNames()
        var result = PendingTargets()
        for (name, line) in zip(names, index.cover(names)) {
            if let line, let read = index.targets(of: line), let collection = CollectionName(rawValue: read.collection)
            {
                result.targets.append((collection, read.ids))
            } else if let write = try? queue.readWithSize(name).write {
                result.targets.append((write.kind.collection, write.touchedItemIds))
            } else {
                result.unreadable += 1
            }
        }
        return result
    }
}

/// How many writes are pending, since when, and their bytes: from the queue index while it is fresh, else from one
/// listing of `queue/` (names only; no file is opened).
struct PendingSummary: Equatable {
    var count: Int
    /// The creation time of the oldest pending write, read from its file name.
    var oldestAt: Date?
    /// The bytes of the pending files, when the index knew them (nil after a listing).
    var bytes: Int64?

    static func load(_ paths: CachePaths) throws -> PendingSummary {
        if let header = QueueIndex.freshHeader(paths) {
            return PendingSummary(
                count: header.count, oldestAt: header.oldest.flatMap(WriteFileName.init(fileName:))?.createdAt,
                bytes: header.bytes)
        }
        let names = try WriteQueue(paths: paths).pendingNames()
        // Names sort as their times do, so the first name b1cache made is the oldest.
        let oldest = names.lazy.compactMap(WriteFileName.init(fileName:)).first
        return PendingSummary(count: names.count, oldestAt: oldest?.createdAt, bytes: nil)
    }
}
