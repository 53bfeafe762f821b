import Foundation
import Synchronization

/// Where the watcher gets its token.
public enum WatchToken: Sendable, Equatable {
    /// A token that cannot change while the watcher runs (`B1_TOKEN`: a new one needs a restart).
    case fixed(String)
    /// A file holding the token (`--token-file`), read again when it changes, so a 401 is resumed by replacing it.
    case file(URL)
}

/// How a watcher behaves.
public struct WatchOptions: Sendable {
    /// The server watched.
    public var server: URL
    /// Where the token comes from (re-read from its file after a 401).
    public var token: WatchToken
    /// The longest silence of one request (as `--timeout` of flush and sync).
    public var timeout: TimeInterval = 30
    /// A CA file to trust instead of the system's.
    public var caFile: String?
    /// The longest wait between two probes of an unreachable server, and between two reconnections of the feed.
    public var maximumBackoff: TimeInterval = 60
    /// Without a change feed (404), every collection is pulled this often.
    public var pollInterval: TimeInterval = 15 * 60
    /// How often `queue/` and the token file are looked at (a stat each; see `WatchLoop.queueStamp`).
    public var checkInterval: TimeInterval = 1
    /// The storage budget each pull measures the cache against (`WatchEvent.overBudget`; nothing is ever removed).
    public var budget: StorageBudget = .default

    /// Options with the defaults (backoff cap 60 s, poll every 15 min without a feed).
    public init(server: URL, token: WatchToken) {
        self.server = server
        self.token = token
    }
}

/// What a watcher did, as it happens (one line each on `b1cache watch`'s stderr).
public enum WatchEvent: Sendable {
    /// The watcher runs; `state` is what `watch.json` says.
    case started(WatchState)
    /// The server answered again (or for the first time).
    case online
    /// The server cannot be reached; the next probe is in `retryIn` seconds.
    case offline(reason: String, retryIn: TimeInterval)
    /// A flush sent writes (`report.applied`, `.duplicates`, `.movedToFailed`).
    case flushed(FlushReport)
    /// A write waits for its own backoff (`nextAttemptAt`) until `until`.
    case heldBack(id: String, until: Date)
    /// A pull brought changes: `changed` items received, `removed` deleted.
    case pulled(CollectionName, changed: Int, removed: Int)
    /// A pull failed for another reason than being offline (the collection keeps its last good state).
    case pullFailed(CollectionName, reason: String)
    /// 401: nothing is sent until the token changes; `resumable` when it is read from a file.
    case sessionExpired(resumable: Bool)
    /// The token file changed: the watcher tries again with the new token.
    case tokenChanged
    /// The change feed is open.
    case feedOpened
    /// The change feed was lost (closed, dropped, silent for twice its heartbeat); reconnecting in `retryIn` s.
    case feedLost(reason: String, retryIn: TimeInterval)
    /// The server has no change feed (404): every collection is pulled every `every` seconds instead.
    case polling(every: TimeInterval)
    /// A pull left the cache over `WatchOptions.budget` (said once each time it goes over, not on every pull;
    /// nothing is removed for it).
    case overBudget(StorageUse)
    case stopped
}

/// Why a watcher could not start.
public enum WatchError: Error, Sendable, CustomStringConvertible {
    /// Another watcher runs on this cache.
    case alreadyRunning(WatchState)
    /// The cache folder was signed out, replaced by a restore, or deleted while the watcher ran (its `watch.json`
    /// went with it): the watcher stops rather than fill a new folder with the account's data again.
    case cacheRemoved(path: String)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .alreadyRunning(let state): "another watcher is running on this cache (\(state.summary))"
        case .cacheRemoved(let path):
            "the cache folder \(path) was signed out, restored or removed while watching; the watcher stopped"
        }
    }

    /// What to do next.
    public var hint: String {
        switch self {
        case .alreadyRunning(let state):
            "one watcher per cache is enough; stop that one first (kill \(state.pid)) to start another"
        case .cacheRemoved: "start 'b1cache watch' again to keep the new cache in step"
        }
    }
}

/// The cache's own sync engine: keeps a `Cache` in step with the server while it runs, using only the cache's public
/// operations (`flushPlan`, `sync` with `Busy.wait`). It flushes as soon as the server answers again and as soon
/// as any process enqueues a write, pulls what the flush touched, answers each poke of the change feed with an
/// incremental pull of that collection (every collection on each (re)connection), probes an unreachable server with
/// exponential backoff and full jitter, and stops sending on a 401 until the token changes.
///
/// It holds the cache lock only while it flushes or pulls, so every other command keeps working beside it. Waiting
/// costs no CPU: it sleeps on timers (one stat of `queue/` a second) and on the feed's socket.
///
/// ```swift
/// let watcher = Watcher(cache: cache, options: WatchOptions(server: url, token: .file(tokenFile)))
/// Task { try await watcher.run { event in print(event) } }
/// …
/// watcher.stop()      // returns at once; `run` returns within about a second, the lock released
/// ```
public final class Watcher: Sendable {
    /// The cache kept in step.
    public let cache: Cache
    /// The server, token and timings.
    public let options: WatchOptions

    private struct Control {
        var worker: Task<Void, any Error>?
        var stopRequested = false
    }

    private let control = Mutex(Control())

    /// A watcher of `cache`; `run()` starts it.
    public init(cache: Cache, options: WatchOptions) {
        self.cache = cache
        self.options = options
    }

    /// Runs until `stop()` (or until a problem no waiting fixes: another account's token, a setup problem such as an
    /// untrusted certificate, a cache that cannot be written).
    /// - Throws: `WatchError.alreadyRunning` (nothing changed); `ServerError.otherAccount` and the like; what
    ///   `Cache.sync` throws that is not being offline or busy. `watch.json` says stopped in every case.
    public func run(report: @escaping @Sendable (WatchEvent) -> Void) async throws {
        let paths = cache.paths
        try CacheRoot.prepare(paths)
        let state = try claim(paths)
        report(.started(state))
        let loop = WatchLoop(cache: cache, options: options, state: state, report: report)
        let worker = Task { try await loop.run() }
        let stopNow = control.withLock { control -> Bool in
            control.worker = worker
            return control.stopRequested
        }
        if stopNow { worker.cancel() }
        var failure: (any Error)?
        do { try await worker.value } catch is CancellationError {} catch { failure = error }
        var stopped = loop.currentState
        stopped.state = "stopped"
        stopped.online = false
        stopped.backoffUntil = nil
        stopped.stoppedAt = Date()
        try? stopped.write(paths)
        report(.stopped)
        if let failure { throw failure }
    }

    /// Asks `run` to stop: what is being sent is abandoned (the writes stay queued, and are re-sent under the same
    /// ids, so they are applied once), the lock is released. Safe from any thread, e.g. a signal source.
    public func stop() {
        let worker = control.withLock { control -> Task<Void, any Error>? in
            control.stopRequested = true
            return control.worker
        }
        worker?.cancel()
    }

    /// Takes the cache for this watcher: refused while `watch.json` names a watcher that still runs.
    /// Two watchers started in the same instant could both pass the first look; the second look, after writing,
    /// makes the earlier writer give way (the file holds the later one), which leaves a window of a few
    /// milliseconds, not a second watcher for good.
    private func claim(_ paths: CachePaths) throws -> WatchState {
        if let other = WatchState.load(paths), other.isRunning, !other.isThisProcess {
            throw WatchError.alreadyRunning(other)
        }
        let state = WatchState.starting()
        try state.write(paths)
        if let other = WatchState.load(paths), other.isRunning, !other.isThisProcess {
            throw WatchError.alreadyRunning(other)
        }
        return state
    }
}

/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th wait is
/// drawn evenly from 0 to min(cap, 1 s × 2ⁿ), so many clients cut off together do not come back together.
struct ReconnectBackoff: Sendable {
    var cap: TimeInterval
    private(set) var failures = 0

    init(cap: TimeInterval) { self.cap = max(cap, 1) }

    /// The wait before the next attempt (at least a tenth of a second).
    mutating func next() -> TimeInterval {
        let ceiling = min(cap, pow(2, Double(min(failures, 30))))
        failures += 1
        return max(0.1, Double.random(in: 0...ceiling))
    }

    mutating func reset() { failures = 0 }
}
