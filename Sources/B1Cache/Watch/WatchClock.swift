import Foundation
import Synchronization

/// The watcher's clock: a thread of its own that sleeps `interval` (one second) at a time, looks at what a tick of the
/// loop would look at (three `stat`s: `queue/`, `watch.json`, the token file), and posts a tick only when that
/// changed since the last tick it posted, or when the loop asked for every tick (it is offline, its session expired,
/// a write or a poll is due: states where time itself matters).
///
/// A plain thread in `nanosleep`, not a task in `Task.sleep`: each second then costs one wake-up of one thread,
/// where a task's sleep also wakes libdispatch's timer thread and hands the task to a pool thread, and an idle
/// online watcher never wakes its loop at all.
final class WatchClock: Sendable {
    /// What a tick of an idle, online loop looks at.
    struct Fingerprint: Equatable {
        var queue: Date?
        var watchStateExists: Bool
        var token: Date?

        static func take(_ paths: CachePaths, token: WatchToken) -> Fingerprint {
            var tokenModified: Date?
            if case .file(let url) = token { tokenModified = WatchLoop.tokenModified(url) }
            return Fingerprint(
                queue: WatchLoop.queueStamp(paths),
                watchStateExists: (try? System.status(paths.watchState.path)) != nil, token: tokenModified)
        }
    }

    private struct Value {
        var everyTick = true
        var posted: Fingerprint?
        var stopped = false
    }

    private let value = Mutex(Value())

    /// Starts the clock; it posts its first tick at once.
    init(
        interval: TimeInterval, paths: CachePaths, token: WatchToken, post: AsyncStream<WatchLoop.Message>.Continuation
    ) {
        let thread = Thread { [self] in
            while !value.withLock({ $0.stopped }) {
                if shouldTick(.take(paths, token: token)) { post.yield(.tick) }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.stackSize = 1 << 18
        thread.start()
    }

    /// Ends the clock within one interval (the thread finishes its sleep, then exits).
    func stop() { value.withLock { $0.stopped = true } }

    /// Set by the loop after each message: whether it needs every tick, or only those that bring a change.
    func needEveryTick(_ every: Bool) { value.withLock { $0.everyTick = every } }

    /// Whether to post a tick now, given what the clock sees.
    func shouldTick(_ now: Fingerprint) -> Bool {
        value.withLock { value in
            guard value.everyTick || value.posted != now else { return false }
            value.posted = now
            return true
        }
    }
}
