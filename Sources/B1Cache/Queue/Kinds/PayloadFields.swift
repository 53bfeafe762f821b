import Foundation

/// Typed reads of payload fields that throw `QueueError.invalidField` with the field's name.
struct PayloadFields {
    let payload: JSONObject
    var prefix = ""

    func value(_ field: String) throws -> JSONValue {
        guard let value = payload[field], !value.isNull else {
            throw QueueError.invalidField(field: prefix + field, reason: "is required")
        }
        return value
    }

    func identifier(_ field: String) throws -> String {
        let value = try value(field)
        guard let text = value.stringValue else {
            throw QueueError.invalidField(field: prefix + field, reason: "must be a string, not \(value.typeName)")
        }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty, text.count <= WriteLimits.identifier else {
            throw QueueError.invalidField(
                field: prefix + field,
                reason: "must be a non-empty id of at most "
                    + "\(WriteLimits.identifier) characters")
        }
        return text
    }

    func oneOf(_ field: String, _ allowed: [String]) throws -> String {
        let text = try identifier(field)
        guard allowed.contains(text) else {
            throw QueueError.invalidField(
                field: prefix + field,
                reason: "must be one of \(allowed.joined(separator: ", ")), not '\(text)'")
        }
        return text
    }

    /// A date and time that exists (`Timestamp.strictDate`): 30 February or 25:61 is refused, not rolled over.
    func date(_ field: String) throws -> Date {
        let text = try identifier(field)
        switch Timestamp.strictParse(text) {
        case .date(let date):
            return date
        case .doesNotExist:
            throw QueueError.invalidField(
                field: prefix + field,
                reason: "is '\(text)', a date and time that does "
                    + "not exist (days 01 to 28, 29, 30 or 31 by month, hours 00-23, minutes and "
                    + "seconds 00-59)")
        case .malformed:
            throw QueueError.invalidField(
                field: prefix + field,
                reason: "must be an ISO 8601 date and time with a "
                    + "time zone, such as 2027-01-15T00:00:00Z, not '\(text)'")
        }
    }

    /// A number in `range`. A literal no double holds (`1e400`) is out of range, said with the text as typed.
    func number(_ field: String, in range: ClosedRange<Double>) throws -> Double {
        let value = try value(field)
        guard case .number(let text) = value, let number = Double(text) else {
            throw QueueError.invalidField(field: prefix + field, reason: "must be a number, not \(value.typeName)")
        }
        guard number.isFinite, range.contains(number) else {
            let bounds = [range.lowerBound, range.upperBound].map { JSONWriter.compactString(.double($0)) }
            throw QueueError.invalidField(
                field: prefix + field,
                reason: "must be between \(bounds[0]) and \(bounds[1]), not \(text)")
        }
        return number
    }

    func allowOnly(_ allowed: Set<String>) throws {
        if let unknown = payload.keys.first(where: { !allowed.contains($0) }) {
            let expected = allowed.sorted().joined(separator: ", ")
            throw QueueError.invalidField(
                field: prefix + unknown,
                reason: "is not part of this kind's payload (expected \(expected))")
        }
    }
}
