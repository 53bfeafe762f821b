import Foundation

/// Who holds the cache lock: the content of `flush.lock/owner.json` (SPEC §6).
///
/// ```json
/// {"acquiredAt": "2026-11-22T09:14:03.120Z", "bootId": "e760df10-…", "command": "flush",
///  "heartbeatAt": "2026-11-22T09:14:33.125Z", "host": "laptop", "pid": 4242, "processStartTime": "109463"}
/// ```
///
/// `pid` and `processStartTime` together name one process: a pid reused by a later process has another start
/// time. On Linux the start time counts clock ticks since boot, so it only means something with `bootId`.
public struct LockOwner: Sendable, Equatable {
    /// The holder's process id.
    public var pid: Int32
    /// When that process started (opaque; see the type's documentation); nil when the system would not say.
    public var processStartTime: String?
    /// The boot the holder ran in; nil on a system without boot ids.
    public var bootId: String?
    /// The holder's host name.
    public var host: String
    /// When the lock was taken.
    public var acquiredAt: Date
    /// When the holder last proved it was alive.
    public var heartbeatAt: Date
    /// The b1cache command holding the lock, e.g. `flush`.
    public var command: String

    /// Makes an owner record from its fields (tests use it to plant locks).
    public init(
        pid: Int32, processStartTime: String?, bootId: String?, host: String, acquiredAt: Date,
        heartbeatAt: Date, command: String
    ) {
        self.pid = pid
        self.processStartTime = processStartTime
        self.bootId = bootId
        self.host = host
        self.acquiredAt = acquiredAt
        self.heartbeatAt = heartbeatAt
        self.command = command
    }

    /// The record for this process taking the lock now.
    public static func current(command: String, now: Date = Date()) -> LockOwner {
        LockOwner(
            pid: System.processID, processStartTime: ThisProcess.startTime, bootId: ThisProcess.bootId,
            host: ThisProcess.host, acquiredAt: now, heartbeatAt: now, command: command)
    }

    /// True when `other` is the same acquisition as this one: same process (pid, start time, host, boot) and the
    /// same `acquiredAt`. The heartbeat time is left out on purpose: it is the one field a holder changes.
    ///
    /// `acquiredAt` is compared to within two milliseconds, not by its text: owner.json keeps milliseconds, and
    /// Foundation's ISO 8601 style truncates, so formatting a parsed `.642` can give `.641` (about half of all
    /// dates, Swift 6.3 on Linux). Two acquisitions by one process that close together cannot overlap, since the
    /// first is released before the second is taken.
    public func isSameAcquisition(as other: LockOwner) -> Bool {
        pid == other.pid && processStartTime == other.processStartTime && host == other.host
            && bootId == other.bootId && abs(acquiredAt.timeIntervalSince(other.acquiredAt)) < 0.002
    }

    /// "'flush' (pid 4242 on laptop, since 2026-11-22T09:14:03Z)", for messages.
    public var summary: String {
        "'\(command)' (pid \(pid) on \(host), since \(Timestamp.string(acquiredAt)))"
    }

    // MARK: owner.json

    /// The owner.json form: pretty JSON, keys sorted, dates to the millisecond.
    public func encoded() -> Data {
        var object: JSONObject = [
            "pid": .integer(pid),
            "host": .string(host),
            "acquiredAt": .string(Timestamp.preciseString(acquiredAt)),
            "heartbeatAt": .string(Timestamp.preciseString(heartbeatAt)),
            "command": .string(command),
        ]
        object["processStartTime"] = processStartTime.map { .string($0) } ?? .null
        object["bootId"] = bootId.map { .string($0) } ?? .null
        return JSONWriter.prettyData(.object(object))
    }

    /// Reads an owner.json; nil when it is not one (torn, empty, hand-edited, from a future version that dropped
    /// a field). A lock whose owner cannot be read is judged by the grace period instead, so this never throws.
    public static func decode(_ data: Data) -> LockOwner? {
        guard let value = try? JSONParser.parse(data), let object = value.objectValue else { return nil }
        guard let pidValue = object["pid"]?.intValue, let pid = Int32(exactly: pidValue), pid > 0,
            let host = object["host"]?.stringValue,
            let acquiredText = object["acquiredAt"]?.stringValue, let acquiredAt = Timestamp.date(acquiredText),
            let heartbeatText = object["heartbeatAt"]?.stringValue, let heartbeatAt = Timestamp.date(heartbeatText)
        else { return nil }
        return LockOwner(
            pid: pid, processStartTime: text(object["processStartTime"]), bootId: text(object["bootId"]),
            host: host, acquiredAt: acquiredAt, heartbeatAt: heartbeatAt,
            command: object["command"]?.stringValue ?? "unknown")
    }

    /// A string or number field as text (another implementation may write the start time as a number).
    private static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text.isEmpty ? nil : text
        case .number(let text)?: text
        default: nil
        }
    }
}

/// Facts about this process that do not change while it runs, looked up once.
enum ThisProcess {
    static let startTime: String? = System.processStartTime(System.processID)
    static let bootId: String? = System.bootID()
    static let host: String = ProcessInfo.processInfo.hostName
}
