import B1Cache
import Foundation

/// The watcher's part of `status` (from `watch.json`, judged by pid and start time as the lock's owner is).
enum StatusWatch {
    /// " · watching (online)", " · watching (offline, retry 09:14:03Z)", "" when no watcher runs.
    static func part(_ state: WatchState?, now: Date) -> String {
        guard let state, state.isRunning else { return "" }
        var words: [String]
        if state.sessionExpired {
            words = ["session expired"]
        } else if state.online {
            words = ["online"]
        } else {
            words = ["offline"]
            if let until = state.backoffUntil, until > now {
                words.append("retry in \(Int(until.timeIntervalSince(now).rounded(.up))) s")
            }
        }
        if let flushed = state.lastFlushAt { words.append("flushed " + Timestamp.age(of: flushed, now: now)) }
        return " · watching (pid \(state.pid), \(words.joined(separator: ", ")))"
    }

    /// `status --json` with `watcher`: {running, pid, startedAt, online, sessionExpired, backoffUntil, feed,
    /// lastFlushAt, lastEventAt} (docs/JSON.md); `running` false (and the rest of the last watcher, if any) when none
    /// runs.
    static func adding(_ state: WatchState?, to value: JSONValue) -> JSONValue {
        guard var object = value.objectValue else { return value }
        let running = state?.isRunning ?? false
        object["watcher"] = [
            "running": .bool(running),
            "pid": state.map { .integer(Int($0.pid)) } ?? .null,
            "startedAt": .optionalDate(state?.startedAt),
            "online": running ? .bool(state?.online ?? false) : .null,
            "sessionExpired": .bool(running && state?.sessionExpired == true),
            "backoffUntil": running ? .optionalDate(state?.backoffUntil) : .null,
            "feed": running ? .optionalString(state?.feed) : .null,
            "lastFlushAt": .optionalDate(state?.lastFlushAt),
            "lastEventAt": .optionalDate(state?.lastEventAt),
        ]
        return .object(object)
    }
}
