import Foundation

/// What the cache's watcher (`b1cache watch`) is doing: `watch.json` at the root, for `status` and status bars.
///
/// ```json
/// {"backoffUntil": null, "bootId": "e760df10-…", "feed": "stream", "host": "laptop", "lastEventAt": "…",
///  "lastFlushAt": "2026-11-22T09:14:03.120Z", "online": true, "pid": 4242, "processStartTime": "109463",
///  "schemaVersion": 1, "sessionExpired": false, "startedAt": "…", "state": "running", "stoppedAt": null}
/// ```
///
/// Written by the watcher only when something in it changes, through `DurableFile`. A watcher killed with
/// SIGKILL leaves `state: "running"`, so a reader judges it as the lock's owner is judged: the process named by
/// pid and start time (on this host and boot) must still run (`isRunning`).
public struct WatchState: Sendable, Equatable {
    /// The schema of `watch.json` this version writes and reads.
    public static let schemaVersion = 1

    /// The watcher's process id.
    public var pid: Int32
    /// Its start time (with the pid, it names one process even after pid reuse).
    public var processStartTime: String?
    /// The boot it runs in.
    public var bootId: String?
    /// The host it runs on.
    public var host: String
    /// When it started.
    public var startedAt: Date
    /// "running" or "stopped" (as the watcher last wrote it; see `isRunning`).
    public var state: String
    /// The server answered the last probe or request.
    public var online: Bool
    /// The last answer was 401: nothing is sent until the token changes.
    public var sessionExpired: Bool
    /// While offline: when the next probe of the server is due.
    public var backoffUntil: Date?
    /// "stream" (the change feed), "poll" (no feed: periodic pulls), or nil (not connected yet).
    public var feed: String?
    /// When a flush last sent writes (or found none to send after the server came back).
    public var lastFlushAt: Date?
    /// When the watcher last handled an event: a flush, a pull, a change of connection.
    public var lastEventAt: Date?
    /// When it stopped; nil while it runs.
    public var stoppedAt: Date?

    /// The state of this process, just started.
    static func starting(now: Date = Date()) -> WatchState {
        WatchState(
            pid: System.processID, processStartTime: ThisProcess.startTime, bootId: ThisProcess.bootId,
            host: ThisProcess.host, startedAt: now, state: "running", online: false, sessionExpired: false,
            backoffUntil: nil, feed: nil, lastFlushAt: nil, lastEventAt: nil, stoppedAt: nil)
    }

    /// True when the file says running and its process is not known to be gone (the lock's rule: pid and start
    /// time on this host and boot; another host's watcher is believed).
    public var isRunning: Bool {
        guard state == "running" else { return false }
        let owner = LockOwner(
            pid: pid, processStartTime: processStartTime, bootId: bootId, host: host,
            acquiredAt: startedAt, heartbeatAt: startedAt, command: "watch")
        return !LockStaleness.processIsGone(owner)
    }

    /// True when this is the state of the calling process.
    var isThisProcess: Bool {
        pid == System.processID && processStartTime == ThisProcess.startTime && host == ThisProcess.host
    }

    /// "pid 4242 on laptop, since 2026-11-22T09:14:03Z", for messages.
    public var summary: String { "pid \(pid) on \(host), since \(Timestamp.string(startedAt))" }

    // MARK: watch.json

    /// Reads the state file; nil when there is none or it cannot be read as one (a torn or hand-edited file means
    /// "no watcher known", never an error: the file only ever informs).
    public static func load(_ paths: CachePaths) -> WatchState? {
        guard let data = try? System.readFile(paths.watchState.path, limit: 64 * 1024),
            let object = (try? JSONParser.parse(data))?.objectValue,
            let pidValue = object["pid"]?.intValue, let pid = Int32(exactly: pidValue), pid > 0,
            let startedText = object["startedAt"]?.stringValue, let startedAt = Timestamp.date(startedText),
            let state = object["state"]?.stringValue
        else { return nil }
        func date(_ name: String) -> Date? { object[name]?.stringValue.flatMap(Timestamp.date) }
        return WatchState(
            pid: pid, processStartTime: object["processStartTime"]?.stringValue,
            bootId: object["bootId"]?.stringValue, host: object["host"]?.stringValue ?? "",
            startedAt: startedAt, state: state, online: object["online"]?.boolValue ?? false,
            sessionExpired: object["sessionExpired"]?.boolValue ?? false,
            backoffUntil: date("backoffUntil"), feed: object["feed"]?.stringValue,
            lastFlushAt: date("lastFlushAt"), lastEventAt: date("lastEventAt"),
            stoppedAt: date("stoppedAt"))
    }

    /// The file's JSON (pretty, keys sorted, dates to the millisecond).
    public var json: JSONValue {
        func date(_ value: Date?) -> JSONValue { value.map { .string(Timestamp.preciseString($0)) } ?? .null }
        return [
            "schemaVersion": .integer(Self.schemaVersion), "pid": .integer(Int(pid)),
            "processStartTime": .optionalString(processStartTime), "bootId": .optionalString(bootId),
            "host": .string(host), "startedAt": date(startedAt), "state": .string(state), "online": .bool(online),
            "sessionExpired": .bool(sessionExpired), "backoffUntil": date(backoffUntil),
            "feed": .optionalString(feed), "lastFlushAt": date(lastFlushAt), "lastEventAt": date(lastEventAt),
            "stoppedAt": date(stoppedAt),
        ]
    }

    func write(_ paths: CachePaths) throws {
        try DurableFile.write(JSONWriter.prettyData(json), to: paths.watchState)
    }
}

extension Cache {
    /// What `watch.json` says of this cache's watcher (nil when no watcher ever ran); never writes, takes no lock.
    /// `isRunning` tells whether it still runs (a watcher killed with SIGKILL leaves "running" in the file).
    public func watcherState() -> WatchState? { WatchState.load(paths) }
}
