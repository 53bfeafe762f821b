import Foundation

extension CacheLock {
    /// Whether the lock is held, by whom, and whether it is stale, for `inspect` and `verify`. Reads only.
    /// - Returns: `held` is true whenever `flush.lock/` exists (stale or not); `owner` is nil when it has no
    ///   readable owner.json.
    /// - Throws: `LockError.ioFailure` when the lock path cannot be examined.
    public func status() throws -> (held: Bool, owner: LockOwner?, stale: Bool) {
        guard let observed = try observe() else { return (held: false, owner: nil, stale: false) }
        let stale = LockStaleness.judge(observed, ttl: ttl, grace: grace) != nil
        return (held: true, owner: observed.owner, stale: stale)
    }

    /// A sentence describing a stale lock in `paths`, or nil when there is no lock or it is fresh. Fits
    /// `Verifier`'s `lockCheck`: `Verifier(paths: paths, repair: false, lockCheck: CacheLock.staleDescription)`.
    /// Uses the default TTL and grace period.
    /// - Throws: `LockError.ioFailure` when the lock path cannot be examined.
    public static func staleDescription(paths: CachePaths) throws -> String? {
        let lock = CacheLock(paths: paths, command: "verify")
        guard let observed = try lock.observe(),
            let staleness = LockStaleness.judge(observed, ttl: lock.ttl, grace: lock.grace)
        else { return nil }
        return staleness.sentence(ttl: lock.ttl)
    }
}
