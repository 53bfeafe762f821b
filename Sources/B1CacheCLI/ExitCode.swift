/// The exit codes of SPEC §11; scripts rely on them.
public enum ExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 2
    case flushIncomplete = 3
    case offline = 4
    case unauthorized = 5
    case busy = 6
    case refused = 7
    case corrupt = 8
}

extension ExitCode {
    /// The stable name of the code, as `--json` errors carry it (`error.code`, docs/JSON.md).
    var name: String {
        switch self {
        case .ok: "ok"
        case .failure: "failure"
        case .usage: "usage"
        case .flushIncomplete: "flush-incomplete"
        case .offline: "offline"
        case .unauthorized: "unauthorized"
        case .busy: "busy"
        case .refused: "refused"
        case .corrupt: "corrupt"
        }
    }
}
