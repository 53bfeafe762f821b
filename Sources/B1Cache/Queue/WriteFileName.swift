import Foundation

/// The name of a write file: `<UTC time to the microsecond>-<per-process sequence>-<write id>.json`.
///
/// Flush order is file-name order (SPEC §5), so the name alone orders writes: time first (across processes),
/// then the sequence (several writes of one process within one microsecond), then the id. Directory order and
/// mtime are never used. `20261122T092011.123456Z-000001-0b9f6c1e-….json`
public struct WriteFileName: Sendable, Equatable, Comparable {
    /// Creation time in whole microseconds since 1970 (an integer, so ordering never suffers float rounding).
    public var microseconds: Int64
    /// The writing process's sequence number within one microsecond.
    public var sequence: Int
    /// The write's id.
    public var id: String

    /// A name from its parts.
    public init(microseconds: Int64, sequence: Int, id: String) {
        self.microseconds = microseconds
        self.sequence = sequence
        self.id = id
    }

    /// A name for a write queued at `createdAt` (rounded to the microsecond).
    public init(createdAt: Date, sequence: Int, id: String) {
        self.init(
            microseconds: Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded()), sequence: sequence, id: id)
    }

    /// The time in the name.
    public var createdAt: Date { Date(timeIntervalSince1970: TimeInterval(microseconds) / 1_000_000) }

    /// `20261122T092011.123456Z-000001-<id>.json`.
    public var fileName: String {
        // Floor division, so a time before 1970 still gets a fraction in 0..<1_000_000 (never a negative one).
        let (quotient, remainder) = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        let wholeSeconds = remainder < 0 ? quotient - 1 : quotient
        let fraction = remainder < 0 ? remainder + 1_000_000 : remainder
        let seconds = Date(timeIntervalSince1970: TimeInterval(wholeSeconds))
        let parts = WriteFileName.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: seconds)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let stamp =
            pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2) + "T" + pad(parts.hour, 2)
            + pad(parts.minute, 2) + pad(parts.second, 2)
        return "\(stamp).\(pad(Int(fraction), 6))Z-\(pad(sequence, 6))-\(id).json"
    }

    /// Parses a write file's name; nil for names b1cache did not make (they are reported by `verify`).
    ///
    /// Only the exact text `fileName` gives is accepted: no sign or other padding in a number, no month 13 or
    /// 31 February that the calendar would roll over. Otherwise two names could stand for one write, and a name
    /// written back would not be the name read.
    public init?(fileName: String) {
        guard fileName.hasSuffix(".json"), !fileName.hasPrefix(".") else { return nil }
        let parts = fileName.dropLast(5).split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let sequence = Int(parts[1]), !parts[2].isEmpty else { return nil }
        let stamp = Array(parts[0].utf8)
        // yyyyMMddTHHmmss.ffffffZ
        guard stamp.count == 23, stamp[8] == UInt8(ascii: "T"), stamp[15] == UInt8(ascii: "."),
            stamp[22] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            Int(String(decoding: stamp[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            let micros = number(16..<22),
            let date = WriteFileName.utc.date(
                from: DateComponents(
                    year: year, month: month, day: day, hour: hour, minute: minute, second: second))
        else { return nil }
        self.init(
            microseconds: Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + Int64(micros),
            sequence: sequence, id: String(parts[2]))
        guard self.fileName == fileName else { return nil }
    }

    /// Flush order: the order of the file names.
    public static func < (lhs: WriteFileName, rhs: WriteFileName) -> Bool { lhs.fileName < rhs.fileName }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()
}
