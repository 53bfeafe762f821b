import Foundation

/// ISO 8601 UTC timestamps, the only date format in b1cache's files (SPEC §3).
public enum Timestamp {
    /// `2026-11-22T09:14:03Z` (the second rounded down).
    ///
    /// Formatted by hand: it runs for every `createdAt` and history line a flush writes, and Foundation's
    /// ISO 8601 style plus the `Z` replacement cost 9% of a 2,000-write flush. Years outside 1600–9999 go through
    /// Foundation, whose calendar is Julian before October 1582 (the hand-written one is proleptic Gregorian), so
    /// that parsing and formatting stay each other's inverse there too (the fuzzer found a year 1013 that drifted).
    public static func string(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        let days = seconds.floorDivided(by: 86_400)
        let (year, month, day) = civil(fromDays: days)
        guard (1600...9999).contains(year) else {
            return date.formatted(
                .iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted)
            )
            .replacingOccurrences(of: "+0000", with: "Z")
        }
        let ofDay = seconds - days * 86_400
        var text = ""
        text.reserveCapacity(20)
        func append(_ value: Int64, width: Int) {
            let digits = String(value)
            text += String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        append(year, width: 4); text += "-"; append(month, width: 2); text += "-"; append(day, width: 2)
        text += "T"; append(ofDay / 3600, width: 2); text += ":"; append(ofDay % 3600 / 60, width: 2); text += ":"
        append(ofDay % 60, width: 2); text += "Z"
        return text
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`, proleptic Gregorian).
    static func civil(fromDays count: Int64) -> (Int64, Int64, Int64) {
        let shifted = count + 719_468
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `2026-11-22T09:20:11.123Z`, rounded to the nearest millisecond. Foundation's formatter truncates, and a
    /// parsed `.512` is stored just below it, so formatting it directly would give `.511`: a write file would change
    /// every time it is re-encoded.
    public static func preciseString(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let wholeSeconds = Date(timeIntervalSince1970: TimeInterval(milliseconds.floorDivided(by: 1000)))
        let fraction = String(milliseconds - milliseconds.floorDivided(by: 1000) * 1000)
        return string(wholeSeconds).dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
            + "Z"
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
