import Foundation

/// The triage reads (issue 16): a client's whole picture, each item's sync state, and the storage budget. Like
/// every read, none takes the lock.
extension Cache {
    /// `clientId`'s picture: the client and its items of every client collection (`ClientPicture`).
    /// - Parameters:
    ///   - withPending: apply the pending writes' local effects (the default: what the user did offline, shown).
    ///   - syncState: mark items touched by a pending or failed write with `_sync`.
    /// - Throws: `TriageError.unknownClient` when the cache holds nothing of that client; `StoreError`.
    public func clientPicture(id clientId: String, withPending: Bool = true, syncState: Bool = true) throws
        -> ClientPicture
    {
        try CacheRoot.checkingOnce(paths) {
            let writes = try TriageWrites(paths: paths, pending: true, failed: syncState)
            return try ClientPicture.load(
                paths: paths, clientId: clientId, writes: writes, withPending: withPending, syncState: syncState)
        }
    }

    /// How many items are pending and failed, per collection, from the write files alone (no envelope is read).
    public func itemStates() throws -> ItemStateCounts {
        try CacheRoot.checkingOnce(paths) {
            // The pending writes' items from the queue index while it is fresh (FORMATS.md §5): its header's counts
            // (the same cost at 20,000 pending writes as at none), else its lines; else from the files.
            let failed = try TriageWrites(paths: paths, pending: false, failed: true)
            if let counts = PendingItemCounts.load(paths, failed: failed.failed) {
                return ItemStateCounts(
                    pendingCounts: counts.pending, failed: failed.failed, unreadableWrites: failed.unreadable.count)
            }
            if let pending = try PendingTargets.load(paths) {
                return ItemStateCounts(
                    pendingTargets: pending.targets, failed: failed.failed,
                    unreadableWrites: failed.unreadable.count + pending.unreadable)
            }
            let writes = try TriageWrites(paths: paths, pending: true, failed: true)
            return ItemStateCounts(
                pending: writes.pending, failed: writes.failed, unreadableWrites: writes.unreadable.count)
        }
    }

    /// The cache's disk use against `budget` (pending and failed writes never counted).
    public func storage(budget: StorageBudget = .default) throws -> StorageUse {
        try CacheRoot.checkingOnce(paths) { try StorageUse.load(paths: paths, budget: budget) }
    }
}
