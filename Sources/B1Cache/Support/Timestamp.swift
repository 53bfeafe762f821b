import Foundation

/// ISO 8601 UTC timestamps, the only date format in b1cache's files (SPEC §3).
public enum Timestamp {
    /// `2026-11-22T09:14:03Z`
    public static func string(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
            .replacingOccurrences(of: "+0000", with: "Z")
    }

    /// `2026-11-22T09:20:11.123Z`, rounded to the nearest millisecond. Foundation's formatter truncates, and a
    /// parsed `.512` is stored just below it, so formatting it directly would give `.511`: a write file would change
    /// every time it is re-encoded.
    public static func preciseString(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let wholeSeconds = Date(timeIntervalSince1970: TimeInterval(milliseconds.floorDivided(by: 1000)))
        let fraction = String(milliseconds - milliseconds.floorDivided(by: 1000) * 1000)
        return string(wholeSeconds).dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    /// Parses an ISO 8601 date with or without fractional seconds; nil when it is not one.
    public static func date(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: false).parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// A human age: "just now", "42 s ago", "3 min ago", "3 h ago", "2 d ago".
    public static func age(of date: Date, now: Date = Date()) -> String {
        let seconds = now.timeIntervalSince(date)
        if seconds < 0 { return "in the future" }
        if seconds < 5 { return "just now" }
        if seconds < 60 { return "\(Int(seconds)) s ago" }
        if seconds < 3600 { return "\(Int(seconds / 60)) min ago" }
        if seconds < 86400 * 2 { return "\(Int(seconds / 3600)) h ago" }
        return "\(Int(seconds / 86400)) d ago"
    }
}

private extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
