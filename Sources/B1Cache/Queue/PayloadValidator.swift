import Foundation

/// Field-by-field checks of a write's payload (SPEC §5), before anything touches the disk.
public enum PayloadValidator {
    /// The most missed-billing items one apply may name.
    public static let maximumApplyItems = 500

    /// The kinds that exist on the server but need a connection (SPEC §5: never queued).
    public static let onlineOnlyKinds: Set<String> = [
        "oauth.connect", "invoice.push", "invoice-run.generate", "integration.sync", "marketplace.install",
        "session.revoke",
    ]

    /// Checks a kind's name; only the four offline kinds pass.
    public static func kind(_ name: String) throws -> WriteKind {
        guard let kind = WriteKind(rawValue: name) else { throw QueueError.needsConnection(kind: name) }
        return kind
    }

    /// Checks the payload's fields for `kind`.
    /// - Parameter now: `snoozeUntil` must be after it.
    /// - Throws: `QueueError.invalidField` naming the first field that is wrong.
    public static func check(_ payload: JSONObject, kind: WriteKind, now: Date = Date()) throws {
        let fields = PayloadFields(payload: payload)
        switch kind {
        case .missedBillingAction:
            try fields.allowOnly(["itemId", "action", "snoozeUntil"])
            _ = try fields.identifier("itemId")
            let action = try fields.oneOf("action", ["snooze", "ignore", "mark-reviewed"])
            if action == "snooze" {
                let until = try fields.date("snoozeUntil")
                guard until > now else { throw QueueError.invalidField(field: "snoozeUntil", reason: "must be in the future") }
            } else if let value = payload["snoozeUntil"], !value.isNull {
                throw QueueError.invalidField(field: "snoozeUntil", reason: "is only for action 'snooze'")
            }
        case .missedBillingApply:
            try fields.allowOnly(["itemIds", "mapping"])
            guard let ids = payload["itemIds"] else { throw QueueError.invalidField(field: "itemIds", reason: "is required") }
            guard let list = ids.arrayValue else {
                throw QueueError.invalidField(field: "itemIds", reason: "must be an array of ids, not \(ids.typeName)")
            }
            guard (1...maximumApplyItems).contains(list.count) else {
                throw QueueError.invalidField(field: "itemIds",
                                              reason: "must hold 1 to \(maximumApplyItems) ids, not \(list.count)")
            }
            var seen = Set<String>()
            for (index, element) in list.enumerated() {
                guard let id = element.stringValue, !id.isEmpty else {
                    throw QueueError.invalidField(field: "itemIds[\(index)]", reason: "must be a non-empty string")
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
        case .generatedInvoiceLineTax, .contractLineTax:
            let owner = kind == .contractLineTax ? "contractId" : "invoiceId"
            try fields.allowOnly([owner, "lineId", "taxCode", "taxRate"])
            _ = try fields.identifier(owner)
            _ = try fields.identifier("lineId")
            _ = try fields.identifier("taxCode")
            let rate = try fields.number("taxRate")
            guard (0...100).contains(rate) else {
                throw QueueError.invalidField(field: "taxRate", reason: "must be between 0 and 100, not \(rate)")
            }
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
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty, text.count <= 200 else {
            throw QueueError.invalidField(field: prefix + field, reason: "must be a non-empty id of at most 200 characters")
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

    func date(_ field: String) throws -> Date {
        let text = try identifier(field)
        guard let date = Timestamp.date(text) else {
            throw QueueError.invalidField(field: prefix + field, reason: "must be an ISO 8601 date such as 2027-01-15T00:00:00Z")
        }
        return date
    }

    func number(_ field: String) throws -> Double {
        let value = try value(field)
        guard let number = value.doubleValue, number.isFinite else {
            throw QueueError.invalidField(field: prefix + field, reason: "must be a number, not \(value.typeName)")
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
