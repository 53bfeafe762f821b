import Foundation

extension Timestamp {
    /// What `strictParse` made of a text.
    public enum StrictParse: Equatable, Sendable {
        case date(Date)
        /// In the right form, but a field is out of range: 30 February, hour 25, second 60, offset +24:00.
        case doesNotExist
        /// Not in the form at all.
        case malformed
    }

    /// Parses a date a person typed; nil when it is malformed or does not exist (`strictParse` says which).
    public static func strictDate(_ text: String) -> Date? {
        if case .date(let date) = strictParse(text) { return date }
        return nil
    }

    /// Parses a date a person typed, refusing any that does not exist: `2027-02-30T00:00:00Z`, `25:61`, second 60.
    ///
    /// Foundation's ISO 8601 parser rolls such fields over (30 February becomes 2 March, 25:61 the next day's
    /// 02:01), and the server refuses them; so the fields are read here and must be in range, and the date they
    /// give must be the one Foundation reads from the same text (the fields round-trip). The form is
    /// `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, then `Z`, `±HH:MM` or `±HHMM`.
    public static func strictParse(_ text: String) -> StrictParse {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ length: Int) -> Int? {
            guard start + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + length)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int, is character: Unicode.Scalar) -> Bool {
            index < bytes.count && bytes[index] == UInt8(ascii: character)
        }
        guard let year = number(0, 4), byte(4, is: "-"), let month = number(5, 2), byte(7, is: "-"),
            let day = number(8, 2), byte(10, is: "T"), let hour = number(11, 2), byte(13, is: ":"),
            let minute = number(14, 2), byte(16, is: ":"), let second = number(17, 2)
        else { return .malformed }
        var inRange =
            (1...12).contains(month) && (0...23).contains(hour) && (0...59).contains(minute)
            && (0...59).contains(second)
        if inRange { inRange = (1...daysIn(month: month, year: year)).contains(day) }
        var index = 19
        var fraction = 0.0
        if byte(index, is: ".") {
            var digits = 0, scale = 0.1
            index += 1
            while let digit = number(index, 1) {
                fraction += Double(digit) * scale
                scale /= 10
                digits += 1
                index += 1
            }
            guard (1...9).contains(digits) else { return .malformed }
        }
        var offset = 0
        if byte(index, is: "Z") {
            index += 1
        } else if byte(index, is: "+") || byte(index, is: "-") {
            let sign = byte(index, is: "-") ? -1 : 1
            guard let hours = number(index + 1, 2) else { return .malformed }
            let colon = byte(index + 3, is: ":")
            guard let minutes = number(index + (colon ? 4 : 3), 2) else { return .malformed }
            if hours > 23 || minutes > 59 { inRange = false }
            offset = sign * (hours * 3600 + minutes * 60)
            index += colon ? 6 : 5
        } else {
            return .malformed
        }
        guard index == bytes.count else { return .malformed }
        guard inRange else { return .doesNotExist }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        let date = Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
        // The fields must round-trip through Foundation's reading too (it reads years before 1583 as Julian).
        guard let lenient = Timestamp.date(text), abs(lenient.timeIntervalSince(date)) < 0.001 else {
            return .doesNotExist
        }
        return .date(date)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
