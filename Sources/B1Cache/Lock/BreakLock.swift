import Foundation

/// The short lock that lets only one process at a time change a lock directory that already exists: break it
/// when stale, give it back, refresh its heartbeat, or write the first owner.json into it (SPEC §6: "take a short
/// break-lock, re-read the owner, and only then remove it").
///
/// It is an exclusive `flock` on the cache root folder, not a second lock directory. A `flock` is dropped by the
/// kernel when its holder dies, so it can never itself go stale; a `flush.lock.break/` directory could, and
/// removing a stale break directory safely is the same problem over again (two processes that both judged it
/// stale could each remove the other's fresh one). Each use opens its own descriptor, so threads of one process
/// exclude each other exactly as processes do. It is held for a few milliseconds at most, never while the
/// caller's work runs, so it is taken by polling with a short patience rather than blocking forever behind a
/// process that was stopped while holding it.
enum BreakLock {
    /// What to do when the break-lock could not be taken within the patience.
    enum WhenStuck {
        /// Run the body anyway: it rechecks what it relies on, and skipping it would do more harm (a release
        /// that never happens, an owner.json never written).
        case proceed
        /// Do nothing and return nil (breaking a lock is only safe under the break-lock).
        case giveUp
    }

    /// How long to try for the break-lock. Holders keep it for milliseconds, so this only runs out when one is
    /// stopped or hung.
    static let patience: TimeInterval = 2

    /// Runs `body` while holding the break-lock of `paths.root`.
    /// - Returns: the body's result, or nil when the break-lock could not be taken and `whenStuck` is `.giveUp`.
    /// - Throws: what the body throws, or `LockError.ioFailure` when the root cannot be opened.
    static func run<T>(_ paths: CachePaths, whenStuck: WhenStuck, _ body: () throws -> T) throws -> T? {
        let deadline = Date().addingTimeInterval(patience)
        while true {
            let attempt: System.AdvisoryLock
            do {
                attempt = try System.tryExclusiveLock(paths.root.path)
            } catch {
                throw LockError.from(error, path: paths.root)
            }
            switch attempt {
            case .locked(let descriptor):
                defer { System.closeDescriptor(descriptor) }
                return try body()
            case .unsupported:
                // A file system without flock (some network mounts): the lock directory alone still gives
                // mutual exclusion between holders; only simultaneous breaks of a stale lock lose their guard.
                return try body()
            case .held:
                if Date() >= deadline {
                    switch whenStuck {
                    case .proceed: return try body()
                    case .giveUp: return nil
                    }
                }
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.004))
            }
        }
    }
}
