import Foundation

/// Why the cache lock could not be taken or given back (SPEC §6).
public enum LockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process holds the lock and it is not stale. `owner` describes it (command, pid, host, since when).
    /// The CLI exits `6`.
    case busy(owner: String)
    /// `--wait` was given but the lock was still held when the timeout ran out. The CLI exits `6` too.
    case timedOut(owner: String, seconds: Double)
    /// Creating, reading or removing the lock failed for a reason other than another holder.
    case ioFailure(path: String, reason: String)
    /// `flush.lock` or `flush.lock/owner.json` is a symbolic link. b1cache never makes one, so it was planted; it is
    /// neither followed nor judged as a lock. The CLI exits `8`, as `verify` reports it.
    case symbolicLink(path: String)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .busy(let owner):
            "the cache is locked by \(owner)"
        case .timedOut(let owner, let seconds):
            "gave up waiting for the cache lock after \(Self.format(seconds)) s; it is still held by \(owner)"
        case .ioFailure(let path, let reason):
            "cannot use the cache lock \(path): \(reason)"
        case .symbolicLink(let path):
            "the cache lock \(path) is a symbolic link, which b1cache never makes and refuses to follow"
        }
    }

    /// What the person can do about it.
    public var hint: String {
        switch self {
        case .busy: "wait for it to finish, or pass --wait"
        case .timedOut: "try again later; if that process is hung, stop it and the lock is freed"
        case .ioFailure: "check the cache folder's permissions and free space, then try again"
        case .symbolicLink:
            "run 'b1cache verify --repair' to move the link into quarantine/ (what it points to is left alone)"
        }
    }

    /// How a lock with no readable owner.json is described: its creator is most likely still writing it.
    static let ownerNotYetWritten = "another b1cache process that is just starting (no owner recorded yet)"

    /// Wraps a failed system or Foundation call with the path it concerned.
    static func from(_ error: Error, path: URL) -> LockError {
        if let error = error as? LockError { return error }
        if let error = error as? SystemCallError { return .ioFailure(path: path.path, reason: error.reason) }
        if let error = error as? CocoaError,
            let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError
        {
            return .ioFailure(path: path.path, reason: underlying.localizedDescription)
        }
        return .ioFailure(path: path.path, reason: "\(error)")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}
