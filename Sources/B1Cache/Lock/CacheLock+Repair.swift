import Foundation

extension CacheLock {
    /// Breaks the lock of `paths` if it is stale, for `verify --repair`: under the break-lock and only after
    /// judging it again there, exactly as an acquirer breaks one (so it never removes a lock someone just took).
    ///
    /// Nothing at `flush.lock` that cannot be read is deleted: an owner.json that does not decode, or a file
    /// where the lock folder belongs, goes through `keep` (which moves it to quarantine/) first.
    /// - Returns: what was done, or nil when there was no stale lock (any more) or the break-lock was busy.
    /// - Throws: `LockError.ioFailure`, or what `keep` throws.
    public static func breakIfStale(paths: CachePaths, keeping keep: (URL) throws -> String) throws -> String? {
        let lock = CacheLock(paths: paths, command: "verify")
        let done = try BreakLock.run(paths, whenStuck: .giveUp) { () throws -> String? in
            guard let observed = try lock.observe(),
                LockStaleness.judge(observed, ttl: lock.ttl, grace: lock.grace) != nil
            else { return nil }
            let status: System.FileStatus?
            do { status = try System.status(paths.lock.path) } catch { throw LockError.from(error, path: paths.lock) }
            guard status?.isDirectory == true else { return "the stale lock " + (try keep(paths.lock)) }
            var kept = ""
            if observed.owner == nil, (try? System.status(paths.lockOwner.path)) ?? nil != nil {
                kept = "; its unreadable owner.json was " + (try keep(paths.lockOwner))
            }
            try lock.removeLockDirectory()
            return "stale lock removed" + kept
        }
        return done ?? nil
    }
}
