import Foundation

/// Field-by-field checks of a write's payload (SPEC §5), before anything touches the disk. The sizes are
/// `WriteLimits`, shared with the write-file decoder.
public enum PayloadValidator {
    /// The most missed-billing items one apply may name.
    public static let maximumApplyItems = WriteLimits.applyItems.upperBound

    /// The kinds that exist on the server but need a connection (SPEC §5: never queued).
    public static let onlineOnlyKinds: Set<String> = [
        "oauth.connect", "invoice.push", "invoice-run.generate", "integration.sync", "marketplace.install",
        "session.revoke",
    ]

    /// Checks a kind's name; only the four offline kinds pass.
    /// - Throws: `QueueError.needsConnection` for an online-only kind, `.unknownKind` for any other name.
    public static func kind(_ name: String) throws -> WriteKind {
        if let kind = WriteKind(rawValue: name) { return kind }
        if onlineOnlyKinds.contains(name) { throw QueueError.needsConnection(kind: name) }
        throw QueueError.unknownKind(kind: name, suggestion: WriteKind.closest(to: name)?.rawValue)
    }

    /// Checks the payload's fields for `kind`.
    /// - Parameter now: `snoozeUntil` must be after it; nil accepts a past one (a write queued before, re-queued
    ///   from an export: the time that passed since must not make it impossible to queue again).
    /// - Throws: `QueueError.invalidField` naming the first field that is wrong.
    public static func check(_ payload: JSONObject, kind: WriteKind, now: Date? = Date()) throws {
        let fields = PayloadFields(payload: payload)
        switch kind {
        case .missedBillingAction:
            try fields.allowOnly(["itemId", "action", "snoozeUntil"])
            _ = try fields.identifier("itemId")
            let action = try fields.oneOf("action", ["snooze", "ignore", "mark-reviewed"])
            if action == "snooze" {
                let until = try fields.date("snoozeUntil")
                if let now, until <= now {
                    throw QueueError.invalidField(field: "snoozeUntil",
                                                  reason: "must be in the future; \(Timestamp.string(until)) has passed")
                }
            } else if let value = payload["snoozeUntil"], !value.isNull {
                throw QueueError.invalidField(field: "snoozeUntil", reason: "is only for action 'snooze'")
            }
        case .missedBillingApply:
            try fields.allowOnly(["itemIds", "mapping"])
            guard let ids = payload["itemIds"] else { throw QueueError.invalidField(field: "itemIds", reason: "is required") }
            guard let list = ids.arrayValue else {
                throw QueueError.invalidField(field: "itemIds", reason: "must be an array of ids, not \(ids.typeName)")
            }
            guard WriteLimits.applyItems.contains(list.count) else {
                let range = WriteLimits.applyItems
                throw QueueError.invalidField(field: "itemIds", reason: "must hold \(range.lowerBound) to "
                                              + "\(range.upperBound) ids, not \(list.count)")
            }
            var seen = Set<String>()
            for (index, element) in list.enumerated() {
                guard let id = element.stringValue, !id.isEmpty, id.count <= WriteLimits.identifier else {
                    throw QueueError.invalidField(field: "itemIds[\(index)]", reason: "must be a non-empty id of at "
                                                  + "most \(WriteLimits.identifier) characters")
                }
                guard seen.insert(id).inserted else {
                    throw QueueError.invalidField(field: "itemIds[\(index)]", reason: "repeats '\(id)'")
                }
            }
            guard let mapping = payload["mapping"] else { throw QueueError.invalidField(field: "mapping", reason: "is required") }
            guard let mappingObject = mapping.objectValue else {
                throw QueueError.invalidField(field: "mapping", reason: "must be an object, not \(mapping.typeName)")
            }
            _ = try PayloadFields(payload: mappingObject, prefix: "mapping.").identifier("contractId")
            try MappingLimits.check(mappingObject)
        case .generatedInvoiceLineTax, .contractLineTax:
            let owner = kind == .contractLineTax ? "contractId" : "invoiceId"
            try fields.allowOnly([owner, "lineId", "taxCode", "taxRate"])
            _ = try fields.identifier(owner)
            _ = try fields.identifier("lineId")
            _ = try fields.identifier("taxCode")
            _ = try fields.number("taxRate", in: 0...100)
        }
    }
}

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
            throw QueueError.invalidField(field: prefix + field, reason: "must be a non-empty id of at most "
                                          + "\(WriteLimits.identifier) characters")
        }
        return text
    }

    func oneOf(_ field: String, _ allowed: [String]) throws -> String {
        let text = try identifier(field)
        guard allowed.contains(text) else {
            throw QueueError.invalidField(field: prefix + field,
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
            throw QueueError.invalidField(field: prefix + field, reason: "is '\(text)', a date and time that does "
                                          + "not exist (days 01 to 28, 29, 30 or 31 by month, hours 00-23, minutes and "
                                          + "seconds 00-59)")
        case .malformed:
            throw QueueError.invalidField(field: prefix + field, reason: "must be an ISO 8601 date and time with a "
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
            throw QueueError.invalidField(field: prefix + field,
                                          reason: "must be between \(bounds[0]) and \(bounds[1]), not \(text)")
        }
        return number
    }

    func allowOnly(_ allowed: Set<String>) throws {
        if let unknown = payload.keys.first(where: { !allowed.contains($0) }) {
            throw QueueError.invalidField(field: prefix + unknown,
                                          reason: "is not part of this kind's payload (expected \(allowed.sorted().joined(separator: ", ")))")
        }
    }
}

/// The limits of an apply's open `mapping` object (`WriteLimits`): string lengths, nesting, finite numbers and the
/// encoded size, so that a mapping enqueue accepts is one the decoder reads back and the server takes.
enum MappingLimits {
    static func check(_ mapping: JSONObject) throws {
        try check(.object(mapping), path: "mapping", depth: 1)
        let bytes = JSONWriter.compactString(.object(mapping)).utf8.count
        guard bytes <= WriteLimits.mappingBytes else {
            throw QueueError.invalidField(field: "mapping", reason: "is \(bytes) bytes encoded; it may have at most "
                                          + "\(WriteLimits.mappingBytes)")
        }
    }

    private static func check(_ value: JSONValue, path: String, depth: Int) throws {
        switch value {
        case .string(let text):
            try checkLength(text, path: path)
        case .number(let text):
            guard Double(text)?.isFinite == true else {
                throw QueueError.invalidField(field: path, reason: "is \(text), a number too large to hold")
            }
        case .array(let elements):
            try checkDepth(depth, path: path)
            for (index, element) in elements.enumerated() {
                try check(element, path: "\(path)[\(index)]", depth: depth + 1)
            }
        case .object(let object):
            try checkDepth(depth, path: path)
            for member in object.members {
                try checkLength(member.key, path: "\(path) key '\(member.key.prefix(40))'")
                try check(member.value, path: "\(path).\(member.key)", depth: depth + 1)
            }
        case .null, .bool:
            break
        }
    }

    private static func checkLength(_ text: String, path: String) throws {
        guard text.count <= WriteLimits.mappingString else {
            throw QueueError.invalidField(field: path, reason: "is \(text.count) characters long; "
                                          + "a string in the mapping may have at most \(WriteLimits.mappingString)")
        }
    }

    private static func checkDepth(_ depth: Int, path: String) throws {
        guard depth <= WriteLimits.mappingDepth else {
            throw QueueError.invalidField(field: path, reason: "nests deeper than \(WriteLimits.mappingDepth) levels "
                                          + "of objects and arrays in the mapping")
        }
    }
}
