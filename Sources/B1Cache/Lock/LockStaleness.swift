import Foundation

/// What is on disk at `flush.lock/` at one moment.
struct LockObservation: Sendable, Equatable {
    /// The decoded owner.json; nil when missing or unreadable.
    var owner: LockOwner?
    /// The lock directory's modification time (its creation, or the last change of an entry in it).
    var modified: Date
}

/// Why a lock may be broken (SPEC §6). A lock that has none of these reasons is fresh.
enum LockStaleness: Sendable, Equatable {
    /// The owner ran on this host and boot, and that process (pid and start time) is gone.
    case processGone(LockOwner)
    /// The owner has not refreshed its heartbeat for longer than the TTL.
    case heartbeatExpired(LockOwner, age: TimeInterval)
    /// No readable owner.json, and the directory is older than the grace period.
    case ownerMissing(age: TimeInterval)

    /// Judges an observation.
    /// - Parameters:
    ///   - ttl: how old a heartbeat may be before the lock is stale; the only rule for another host or boot.
    ///   - grace: how long a lock directory without a readable owner.json counts as fresh, since its creator may
    ///     be between the mkdir and the write.
    /// - Returns: nil when the lock is fresh.
    static func judge(
        _ observation: LockObservation, ttl: TimeInterval, grace: TimeInterval,
        now: Date = Date()
    ) -> LockStaleness? {
        guard let owner = observation.owner else {
            let age = now.timeIntervalSince(observation.modified)
            return age > grace ? .ownerMissing(age: age) : nil
        }
        if processIsGone(owner) { return .processGone(owner) }
        let age = now.timeIntervalSince(owner.heartbeatAt)
        // A heartbeat more than a TTL in the future is as implausible as one a TTL old (clocks that far apart
        // break either rule), and honouring it would keep a hand-edited lock "fresh" for as long as it claims.
        return abs(age) > ttl ? .heartbeatExpired(owner, age: age) : nil
    }

    /// True only when the owner's process can be checked here (same host and same boot, since pids and Linux
    /// start times mean nothing across a reboot) and it is not running. A pid now used by a process with another
    /// start time is a reused pid: the owner is gone. When the start time cannot be read (e.g. /proc mounted with
    /// hidepid) a live pid is given the benefit of the doubt, and the heartbeat rule still applies.
    static func processIsGone(_ owner: LockOwner) -> Bool {
        guard owner.host == ThisProcess.host, owner.bootId == ThisProcess.bootId else { return false }
        guard System.processExists(owner.pid) else { return true }
        guard let recorded = owner.processStartTime, let actual = System.processStartTime(owner.pid) else {
            return false
        }
        return recorded != actual
    }

    /// A sentence for `verify` and `inspect`.
    func sentence(ttl: TimeInterval) -> String {
        switch self {
        case .processGone(let owner):
            "the lock is held by \(owner.summary), a process that is no longer running; "
                + "the next command that needs the lock will remove it"
        case .heartbeatExpired(let owner, let age) where age < 0:
            "the lock held by \(owner.summary) has a heartbeat \(Self.duration(-age)) in the future "
                + "(more than the \(Self.duration(ttl)) limit); the next command that needs the lock will remove it"
        case .heartbeatExpired(let owner, let age):
            "the lock held by \(owner.summary) has not been refreshed for \(Self.duration(age)) "
                + "(the limit is \(Self.duration(ttl))); the next command that needs the lock will remove it"
        case .ownerMissing(let age):
            "the lock folder has no readable owner.json and is \(Self.duration(age)) old; "
                + "the next command that needs the lock will remove it"
        }
    }

    private static func duration(_ seconds: TimeInterval) -> String {
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
        if seconds < 172_800 { return "\(Int((seconds / 3600).rounded())) h" }
        return "\(Int((seconds / 86400).rounded())) d"
    }
}
