import Foundation

/// What `status` says about the cache itself, for a prompt or a status bar: read from the manifest, the queue index
/// (or the listing of `queue/` when it is stale) and the listing of `failed/` (no envelope or write file is read),
/// and never written — not even a missing root is created.
///
/// The write counts come from the folders, not the manifest, so they are shown even when the manifest is corrupt
/// (SPEC §2: pending writes are always visible).
public struct CacheStatus: Sendable {
    /// The cache folder.
    public var root: URL
    /// Whether the folder exists.
    public var exists: Bool
    /// How many files `queue/` holds.
    public var pending: Int
    /// The creation time of the oldest pending write, read from its file name.
    public var oldestPendingAt: Date?
    /// How many files `failed/` holds.
    public var failed: Int
    /// Start of the last Sync All in which every collection succeeded.
    public var lastSyncAllAt: Date?
    /// Whether any collection was ever synced.
    public var everSynced: Bool
    /// Stale collections, by the rule of `inspect` (never synced counts as stale).
    public var stale: [CollectionName]
    /// The command holding the lock (`flush`, `sync`, …), or nil when it is free; "?" when no owner is recorded yet.
    public var lockHolder: String?
    /// True when the lock is held by a process that is gone (the next flush breaks it).
    public var lockStale: Bool
    /// Why the manifest could not be read, when it could not; the rest is still right.
    public var manifestProblem: StoreError?
    /// A killed restore left the cache to be finished by the next command (or one is running now).
    public var restoreInterrupted: Bool

    /// Reads the status.
    /// - Throws: `StoreError` when the root is unsafe (a symbolic link, another user's) or a folder cannot be
    ///   listed; a corrupt manifest does not throw but sets `manifestProblem`.
    public static func load(
        paths: CachePaths, now: Date = Date(),
        staleAfter: TimeInterval = Manifest.defaultStaleAfter
    ) throws -> CacheStatus {
        let exists = try CacheRoot.check(paths.root)
        var manifest = Manifest()
        var problem: StoreError?
        if exists {
            do { manifest = try CacheStore(paths: paths).manifest() } catch let error as StoreError { problem = error }
        }
        let queue = WriteQueue(paths: paths)
        let pending = exists ? try PendingSummary.load(paths) : PendingSummary(count: 0)
        var lockHolder: String?
        var lockStale = false
        // The lock is a detail here: a lock that cannot be read must not hide the pending writes.
        if exists, let lock = try? CacheLock(paths: paths, command: "status").status(), lock.held {
            lockHolder = lock.owner?.command ?? "?"
            lockStale = lock.stale
        }
        return CacheStatus(
            root: paths.root, exists: exists, pending: pending.count, oldestPendingAt: pending.oldestAt,
            failed: exists ? try queue.failedNames().count : 0, lastSyncAllAt: manifest.lastSyncAllAt,
            everSynced: !manifest.collections.isEmpty,
            stale: CollectionName.allCases.filter { manifest.isStale($0, now: now, staleAfter: staleAfter) },
            lockHolder: lockHolder, lockStale: lockStale, manifestProblem: problem,
            restoreInterrupted: !exists && Restore.isInterrupted(paths))
    }
}
