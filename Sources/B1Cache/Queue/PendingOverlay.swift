import Foundation

/// Shows cached items as they will be once the pending writes reach the server (SPEC §5 "local effect").
///
/// Works on copies: the envelope files keep the last server state. Every item a write touched gets
/// `"_pending": [write ids]`, in queue order, so a reader can tell local changes from server data.
public enum PendingOverlay {
    public static let marker = "_pending"

    /// The items of `collection` with the effects of `writes` (in queue order) applied.
    public static func apply(_ writes: [PendingWrite], to items: [JSONValue], collection: CollectionName) -> [JSONValue] {
        var positions: [String: Int] = [:]
        for (index, item) in items.enumerated() { if let id = item["id"]?.stringValue { positions[id] = index } }
        var result = items
        for write in writes where write.kind.collection == collection {
            for id in targetIds(write) {
                guard let index = positions[id], var item = result[index].objectValue else { continue }
                applyEffect(of: write, to: &item)
                var marks = item[marker]?.arrayValue ?? []
                marks.append(.string(write.id))
                item[marker] = .array(marks)
                result[index] = .object(item)
            }
        }
        return result
    }

    static func targetIds(_ write: PendingWrite) -> [String] {
        let payload = write.payload
        switch write.kind {
        case .missedBillingAction: return payload["itemId"]?.stringValue.map { [$0] } ?? []
        case .missedBillingApply: return (payload["itemIds"]?.arrayValue ?? []).compactMap(\.stringValue)
        case .generatedInvoiceLineTax: return payload["invoiceId"]?.stringValue.map { [$0] } ?? []
        case .contractLineTax: return payload["contractId"]?.stringValue.map { [$0] } ?? []
        }
    }

    static func applyEffect(of write: PendingWrite, to item: inout JSONObject) {
        let payload = write.payload
        switch write.kind {
        case .missedBillingAction:
            let statuses = ["snooze": "snoozed", "ignore": "ignored", "mark-reviewed": "reviewed"]
            if let action = payload["action"]?.stringValue, let status = statuses[action] {
                item["status"] = .string(status)
                item["snoozeUntil"] = action == "snooze" ? payload["snoozeUntil"] ?? .null : .null
            }
        case .missedBillingApply:
            item["status"] = "applied"
            item["appliedMapping"] = payload["mapping"] ?? .null
        case .generatedInvoiceLineTax, .contractLineTax:
            guard let lineId = payload["lineId"]?.stringValue, var lines = item["lines"]?.arrayValue else { return }
            for (index, line) in lines.enumerated() where line["id"]?.stringValue == lineId {
                guard var object = line.objectValue else { continue }
                object["taxCode"] = payload["taxCode"] ?? .null
                object["taxRate"] = payload["taxRate"] ?? .null
                lines[index] = .object(object)
            }
            item["lines"] = .array(lines)
        }
    }
}
