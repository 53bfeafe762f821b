import Foundation

/// Marks a folder that a running backup or restore is building beside its destination: the builder's pid and start
/// time, plus a random part. A later run that finds such a folder can tell whether its builder still runs (leave it
/// alone) or crashed (finish or undo its work); the start time keeps a reused pid from counting as the builder.
struct ProcessTag: Equatable, Sendable {
    var processID: Int32
    /// `System.processStartTime`, or `0` where the system will not say (then the pid alone decides).
    var startTime: String
    var unique: String

    /// A new tag for this process.
    static func current() -> ProcessTag {
        ProcessTag(
            processID: System.processID, startTime: System.processStartTime(System.processID) ?? "0",
            unique: String(UUID().uuidString.lowercased().prefix(8)))
    }

    /// `<pid>-<start time>-<8 hex>`, the suffix of a folder name.
    var text: String { "\(processID)-\(startTime)-\(unique)" }

    /// Parses `text`; nil for anything else.
    init?(text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let processID = Int32(parts[0]), !parts[1].isEmpty, parts[2].count == 8 else {
            return nil
        }
        self.init(processID: processID, startTime: String(parts[1]), unique: String(parts[2]))
    }

    init(processID: Int32, startTime: String, unique: String) {
        self.processID = processID
        self.startTime = startTime
        self.unique = unique
    }

    /// True while the process that made the tag runs.
    var isLive: Bool {
        guard System.processExists(processID) else { return false }
        return startTime == "0" || System.processStartTime(processID) == startTime
    }
}
