import Foundation
import Synchronization

/// One cache folder, as an app (or the `b1cache` command) holds it for its lifetime: the top floor of the
/// library. Every whole-cache operation is a method here, and each takes the cache lock itself when it needs it
/// (flush, sync, sign-out, backup, restore, a verify that repairs), with one policy for a lock someone else holds:
/// `Busy.fail` (`LockError.busy` at once) or `Busy.wait`.
///
/// ```swift
/// let cache = try Cache.open(CachePaths(root: support.appendingPathComponent("billingone")))
/// let invoices = try cache.items(of: .invoices, withPending: true)?.items ?? []   // what the user did offline, shown
/// try cache.enqueue(WriteRequest(kind: "missed-billing.action",
///                                payload: ["itemId": "mb_f3rqrj23s7", "action": "snooze",
///                                          "snoozeUntil": "2027-02-01T00:00:00Z"]))
/// let client = ServerClient(transport: .live(baseURL: server, token: token))
/// let report = try await cache.flush(client: client)        // in order, once each; takes the lock
/// let status = try cache.status()                            // pending, failed, stale, lock: for a SyncIndicator
/// ```
///
/// Reads never take the lock: every file is replaced by an atomic rename, so a reader sees a whole file.
/// - Important: every method blocks on disk (and `flush`/`sync` on the network); call them off the main thread.
public final class Cache: Sendable {
    /// What to do when another process holds the cache lock.
    public enum Busy: Sendable {
        /// Throw `LockError.busy` at once (the CLI's exit 6).
        case fail
        /// Wait until the lock is free (or stale, which is broken).
        case wait

        var waits: Bool { self == .wait }
    }

    /// Every path of this cache.
    public let paths: CachePaths
    /// One enqueuer for the handle's lifetime, so each enqueue reuses what it learned of the queue and targets.
    private let enqueuer: Mutex<Enqueuer>

    private init(paths: CachePaths) {
        self.paths = paths
        enqueuer = Mutex(Enqueuer(paths: paths))
    }

    /// Opens the cache at `paths` (the folder need not exist yet: the first sync or enqueue creates it). Checks the
    /// root (never a symbolic link, never another user's) and finishes a sign-out or restore that was killed.
    /// - Parameter recover: finish an interrupted sign-out or restore (false: only look, as `status` does).
    /// - Throws: `StoreError` for an unsafe root, or when an interrupted operation cannot be finished.
    public static func open(_ paths: CachePaths, recover: Bool = true) throws -> Cache {
        try CacheRoot.check(paths.root)
        if recover { try finishInterrupted(paths) }
        return Cache(paths: paths)
    }

    /// Finishes what a killed sign-out or restore left beside the root: a root renamed aside is deleted, a restore
    /// is completed or undone (`Restore.finishInterrupted`). Every method that writes calls it first, so a handle
    /// held for hours never creates a fresh root where another process's restore was about to rename its copy.
    /// It costs one listing of the root's parent folder.
    public func recover() throws { try Self.finishInterrupted(paths) }

    static func finishInterrupted(_ paths: CachePaths) throws {
        try SignOut.finishInterrupted(paths)
        try Restore.finishInterrupted(paths)
    }

    // MARK: Reading (no lock)

    /// What `inspect` shows, from the manifest and listings only (never an envelope).
    public func summary(now: Date = Date(), staleAfter: TimeInterval = Manifest.defaultStaleAfter) throws
        -> CacheSummary
    {
        try CacheRoot.checkingOnce(paths) { try CacheSummary.load(paths: paths, now: now, staleAfter: staleAfter) }
    }

    /// What `status` shows; never writes, and a corrupt manifest does not throw (see `CacheStatus.manifestProblem`).
    public func status(now: Date = Date(), staleAfter: TimeInterval = Manifest.defaultStaleAfter) throws -> CacheStatus
    {
        try CacheRoot.checkingOnce(paths) { try CacheStatus.load(paths: paths, now: now, staleAfter: staleAfter) }
    }

    /// The items of a collection and the write files that could not be overlaid.
    public struct Items: Sendable {
        /// The items, in the envelope's order (with `withPending`, overlaid copies; with `syncState`, marked).
        public var items: [JSONValue]
        /// With `withPending` or `syncState`: write files that could not be read, so their effect is not shown.
        public var unreadableWrites: [StoreError]
    }

    /// The cached items of `collection`, or nil when it was never synced. With `withPending`, the pending writes'
    /// local effects are applied to copies and each touched item is marked `_pending` (SPEC §5). With `syncState`,
    /// each item a pending or failed write touches carries `_sync` (its state, the writes, the server's reason for
    /// a failed one: `SyncStateMarks`); the two are independent.
    /// - Important: reads and parses the whole envelope, and holds every item: `itemStream(of:…)` hands them out
    ///   one at a time instead.
    public func items(of collection: CollectionName, withPending: Bool = false, syncState: Bool = false) throws
        -> Items?
    {
        guard let stream = try itemStream(of: collection, withPending: withPending, syncState: syncState) else {
            return nil
        }
        return Items(items: try stream.all(), unreadableWrites: stream.unreadableWrites)
    }

    /// The cached items of `collection` as `items(of:…)` shows them, handed out one at a time (`ItemStream`), or nil
    /// when it was never synced: about the envelope file's size in memory whatever the collection's length, and one
    /// item by id (`ItemStream.item(id:)`) without parsing the others into values.
    public func itemStream(of collection: CollectionName, withPending: Bool = false, syncState: Bool = false) throws
        -> ItemStream?
    {
        try CacheRoot.checkingOnce(paths) {
            try ItemStream.load(paths: paths, collection: collection, withPending: withPending, syncState: syncState)
        }
    }

    /// The write files of `queue/` (or `failed/`) in flush order, each readable or with its problem.
    public func writes(_ place: WriteQueue.Place = .pending) throws -> [WriteQueue.Listed] {
        try CacheRoot.checkingOnce(paths) { try WriteQueue(paths: paths).list(place) }
    }

    /// A pending or failed write by id, or by an unambiguous prefix of at least 8 characters.
    public func find(id: String) throws -> WriteQueue.Listed { try WriteQueue(paths: paths).find(id: id) }

    /// The flush history (`history.jsonl`), oldest first, and how many lines were not entries.
    public func history() throws -> (entries: [JSONValue], skippedLines: Int) { try History(paths: paths).read() }

    /// What the next `flush` with these options would send, in order (no lock, nothing sent).
    public func flushPlan(options: FlushOptions = FlushOptions(), now: Date = Date()) throws -> FlushPlan {
        FlushPlan(try writes(.pending), options: options, now: now)
    }

    // MARK: Writes (no lock: enqueue, retry and drop are atomic renames)

    /// Validates and queues writes, all or none (SPEC §5). Enqueue never takes the lock.
    /// - Throws: `QueueError` for bad input (nothing written); `StoreError` when the disk refuses.
    @discardableResult
    public func enqueue(_ requests: [WriteRequest]) throws -> [EnqueueResult] {
        try recover()
        return try CacheRoot.checkingOnce(paths) { try enqueuer.withLock { try $0.enqueueBatch(requests) } }
    }

    /// Queues one write; see `enqueue(_:)`.
    @discardableResult
    public func enqueue(_ request: WriteRequest) throws -> EnqueueResult {
        try recover()
        return try CacheRoot.checkingOnce(paths) { try enqueuer.withLock { try $0.enqueue(request) } }
    }

    /// Puts a failed write back in the queue under a new id (`WriteQueue.retryFailed`).
    public func retry(id: String) throws -> PendingWrite {
        try recover()
        return try WriteQueue(paths: paths).retryFailed(id: id)
    }

    /// Puts every readable failed write back in the queue.
    public func retryAll() throws -> [PendingWrite] {
        try recover()
        return try WriteQueue(paths: paths).retryAllFailed()
    }

    /// Discards a pending or failed write on purpose.
    @discardableResult
    public func drop(id: String) throws -> WriteQueue.Listed {
        try recover()
        return try WriteQueue(paths: paths).drop(id: id)
    }

    // MARK: Operations that take the lock

    /// Sends the pending writes in order (SPEC §7), under the cache lock.
    /// - Throws: `LockError.busy` (with `.fail`), and what `Flusher.run` throws.
    public func flush(
        client: ServerClient, options: FlushOptions = FlushOptions(), busy: Busy = .fail,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> FlushReport {
        try recover()
        let flusher = Flusher(paths: paths, client: client, options: options, progress: progress)
        return try await CacheRoot.checkingOnce(paths) {
            try await CacheLock(paths: paths, command: "flush").withLock(wait: busy.waits) { try await flusher.run() }
        }
    }

    /// Flushes (unless `options.flushFirst` is off), then pulls the collections (SPEC §8), under the cache lock.
    /// The first sync creates the folder (the lock lives in it).
    /// Afterwards it measures the cache against `budget` (`SyncReport.storage`): a sync over budget completes, and
    /// its report says so; nothing is removed for a budget.
    public func sync(
        client: ServerClient, options: SyncOptions = SyncOptions(), busy: Busy = .fail,
        budget: StorageBudget = .default,
        progress: (@Sendable (SyncEvent) -> Void)? = nil,
        flushProgress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws -> SyncReport {
        var syncer = Syncer(paths: paths, client: client, options: options, progress: progress)
        syncer.flushProgress = flushProgress
        try recover()
        return try await CacheRoot.checkingOnce(paths) { [syncer] in
            try CacheRoot.prepare(paths)  // the first sync creates the folder, and the lock lives in it
            var report = try await CacheLock(paths: paths, command: "sync").withLock(wait: busy.waits) {
                try await syncer.run()
            }
            report.storage = try? StorageUse.load(paths: paths, budget: budget)
            return report
        }
    }

    /// Checks every file; with `repair`, puts right what can be put right without losing data, a stale lock
    /// included (a folder that is not a cache is refused: `StoreError.notACache`).
    public func verify(repair: Bool = false) throws -> [VerifyProblem] {
        if repair { try recover() }
        let verifier = Verifier(
            paths: paths, repair: repair, lockCheck: { try CacheLock.staleDescription(paths: $0) },
            lockRepair: { try CacheLock.breakIfStale(paths: $0, keeping: $1) })
        return try CacheRoot.checkingOnce(paths) { try verifier.run() }
    }

    /// A consistent, verified copy of the cache at `destination`, made under the lock.
    public func backup(to destination: URL, busy: Busy = .fail) throws -> Backup.Result {
        try recover()
        return try CacheRoot.checkingOnce(paths) { try Backup.run(paths: paths, to: destination, wait: busy.waits) }
    }

    /// Replaces the cache with a verified copy of `source` (refused over pending or failed writes unless `force`).
    public func restore(from source: URL, force: Bool = false, busy: Busy = .fail) throws -> Restore.Result {
        try recover()
        return try Restore.run(paths: paths, from: source, force: force, wait: busy.waits)
    }

    /// Wipes the cache (refused over pending or failed writes unless `force` or an export), under the lock.
    public func signOut(force: Bool = false, export: SignOut.Export? = nil, busy: Busy = .fail) throws -> SignOut.Result
    {
        try recover()
        return try SignOut.run(paths: paths, force: force, export: export, wait: busy.waits)
    }
}
