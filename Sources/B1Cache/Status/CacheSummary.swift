import Foundation

/// What `inspect` shows, built from the manifest and directory listings only — never from an envelope — so it
/// costs the same on a 100-item cache and a 100,000-item one.
public struct CacheSummary: Sendable {
    /// One collection's line of the summary.
    public struct CollectionLine: Sendable {
        /// The collection.
        public var name: CollectionName
        /// Its manifest entry; nil when never synced.
        public var state: CollectionState?
        /// Stale by the rule of SPEC §4 (never synced counts as stale).
        public var stale: Bool
        /// False for the last-known snapshots (`settings`, `integrations`).
        public var complete: Bool
    }

    /// The cache folder.
    public var root: URL
    /// Whether the folder exists.
    public var exists: Bool
    /// The manifest's account; nil when never synced or after a rebuilt manifest.
    public var account: Account?
    /// Start of the last Sync All in which every collection succeeded.
    public var lastSyncAllAt: Date?
    /// Every collection, in SPEC order.
    public var collections: [CollectionLine]
    /// How many files `queue/` holds (from the queue index, or names only: none is read).
    public var pendingCount: Int
    /// How many files `failed/` holds.
    public var failedCount: Int
    /// The lock's `owner.json` as found, when the lock is held and it can be read.
    public var lockOwner: JSONValue?
    /// Whether `flush.lock/` exists.
    public var lockHeld: Bool
    /// Bytes of every regular file under the root.
    public var diskBytes: Int64

    /// The creation time of the oldest pending write, read from its file name.
    public var oldestPendingAt: Date?

    /// Builds the summary.
    /// - Throws: `StoreError` when the manifest is unreadable or corrupt (exit 8 for the CLI), or the root unsafe.
    public static func load(
        paths: CachePaths, now: Date = Date(),
        staleAfter: TimeInterval = Manifest.defaultStaleAfter
    ) throws -> CacheSummary {
        let store = CacheStore(paths: paths)
        let exists = try store.exists()
        let manifest = exists ? try store.manifest() : Manifest()
        let queue = WriteQueue(paths: paths)
        let lines = CollectionName.allCases.map { name in
            CollectionLine(
                name: name, state: manifest.collections[name],
                stale: manifest.isStale(name, now: now, staleAfter: staleAfter), complete: name.isComplete)
        }
        let lockHeld = try exists && CacheRoot.statusOf(paths.lock) != nil
        var owner: JSONValue?
        if lockHeld, let data = try? System.readFile(paths.lockOwner.path, limit: 64 * 1024) {
            owner = try? JSONParser.parse(data)
        }
        let pending = exists ? try PendingSummary.load(paths) : PendingSummary(count: 0)
        // The queue index knows the pending files' bytes: then queue/'s own files are not stat'ed one by one.
        var diskBytes: Int64 = 0
        if exists {
            if let bytes = pending.bytes {
                diskBytes = diskUsage(of: paths.root, skipping: paths.queue) + diskUsage(of: paths.queueStaging) + bytes
            } else {
                diskBytes = diskUsage(of: paths.root)
            }
        }
        return CacheSummary(
            root: paths.root, exists: exists, account: manifest.account, lastSyncAllAt: manifest.lastSyncAllAt,
            collections: lines, pendingCount: pending.count,
            failedCount: exists ? try queue.failedNames().count : 0, lockOwner: owner, lockHeld: lockHeld,
            diskBytes: diskBytes, oldestPendingAt: pending.oldestAt)
    }

    /// The bytes of every regular file under `root` (links not followed), leaving out the folder `skipped`.
    static func diskUsage(of root: URL, skipping skipped: URL? = nil) -> Int64 {
        var total: Int64 = 0
        var folders = [root]
        while let folder = folders.popLast() {
            guard let names = try? System.folderNames(folder.path) else { continue }
            for name in names {
                let url = folder.appendingPathComponent(name)
                guard let status = try? System.status(url.path) else { continue }
                if status.isDirectory {
                    if url.path != skipped?.path { folders.append(url) }
                } else if status.isRegularFile {
                    total += status.size
                }
            }
        }
        return total
    }
}
