import Foundation
import Synchronization

/// Hands out write file names in creation order for this process.
///
/// Ordering rule (SPEC §5): file-name order is flush order. Within a process the time never goes backwards (a
/// clock step back is clamped to the last time used) and the sequence always grows, so a process's writes keep
/// their order; across processes the microsecond time orders them. The name never depends on directory order or
/// mtime.
enum WriteNamer {
    private struct State {
        var lastMicroseconds: Int64 = 0
        var sequence = 0
    }

    private static let state = Mutex(State())

    /// A name for a write created now, later than `notBefore` (the newest name already in the queue).
    static func next(id: String, notBefore: WriteFileName? = nil, now: Date = Date()) -> WriteFileName {
        state.withLock { state in
            var micros = Int64((now.timeIntervalSince1970 * 1_000_000).rounded(.down))
            if let notBefore { micros = max(micros, notBefore.microseconds + 1) }
            micros = max(micros, state.lastMicroseconds)
            state.lastMicroseconds = micros
            state.sequence += 1
            return WriteFileName(microseconds: micros, sequence: state.sequence, id: id)
        }
    }
}
