import Foundation
import Synchronization

/// Refreshes `heartbeatAt` in owner.json while a lock is held, from a thread of its own, so a holder that is
/// busy (or blocked on the network) still proves it is alive to processes on other hosts or boots, which can
/// only judge it by the heartbeat (SPEC §6).
///
/// Each beat takes the break-lock, checks that owner.json is still this acquisition, and only then rewrites it:
/// a holder that was stopped for longer than the TTL may have had its lock broken and taken by someone else, and
/// must not overwrite the new holder's owner.json. Such a holder stops beating and is marked as having lost the
/// lock.
final class LockHeartbeat: Sendable {
    private struct State {
        var beats = 0
        var lost = false
        var lastError: String?
    }

    private let lock: CacheLock
    private let owner: LockOwner
    private let interval: TimeInterval
    private let state = Mutex(State())
    /// Signalled by `stop()`; the thread waits on it with the interval as timeout, so stopping is immediate.
    private let stopSignal = DispatchSemaphore(value: 0)
    /// Signalled by the thread as it ends, so `stop()` returns only once no write can still be under way.
    private let finished = DispatchSemaphore(value: 0)
    private let started = Mutex(false)

    init(lock: CacheLock, owner: LockOwner, interval: TimeInterval) {
        self.lock = lock
        self.owner = owner
        self.interval = interval
    }

    /// How many heartbeats were written.
    var beats: Int { state.withLock { $0.beats } }
    /// True when a beat found that owner.json is no longer this acquisition.
    var lost: Bool { state.withLock { $0.lost } }
    /// The last failure to write a heartbeat (e.g. disk full); the next beat tries again.
    var lastError: String? { state.withLock { $0.lastError } }

    func start() {
        started.withLock { $0 = true }
        let thread = Thread { [self] in
            defer { finished.signal() }
            while stopSignal.wait(timeout: .now() + interval) == .timedOut {
                if !beat() { return }
            }
        }
        thread.name = "b1cache lock heartbeat"
        thread.start()
    }

    /// Stops the heartbeat and waits until its thread has finished; no owner.json write happens after this.
    func stop() {
        guard started.withLock({ $0 }) else { return }
        stopSignal.signal()
        finished.wait()
    }

    /// Writes one heartbeat. Returns false when the lock turned out to be lost, which ends the heartbeat.
    private func beat() -> Bool {
        var refreshed = owner
        refreshed.heartbeatAt = Date()
        do {
            let stillOurs = try BreakLock.run(lock.paths, whenStuck: .giveUp) { () throws -> Bool in
                guard let current = try lock.observe()?.owner, current.isSameAcquisition(as: owner) else {
                    return false
                }
                try DurableFile.write(refreshed.encoded(), to: lock.paths.lockOwner)
                return true
            }
            switch stillOurs {
            case true?:
                state.withLock { $0.beats += 1 }
            case false?:
                state.withLock { $0.lost = true }
                return false
            case nil:
                // The break-lock was busy for its whole patience; try again at the next beat.
                break
            }
        } catch {
            state.withLock { $0.lastError = "\(error)" }
        }
        return true
    }
}
