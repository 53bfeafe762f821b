import Foundation

/// Shows cached items as they will be once the pending writes reach the server (SPEC §5 "local effect").
///
/// Works on copies: the envelope files keep the last server state. Every item a write touched gets
/// `"_pending": [write ids]`, in queue order, so a reader can tell local changes from server data.
///
/// Each write does what the reference server does with it (Tests/ReferenceServer/store.py), in queue order: a tax
/// edit also recomputes the line's `taxAmount` and the invoice's `taxTotal` and `total` (`InvoiceTax`), and a write
/// the server would refuse because of an earlier one (an action or apply on an applied item, a tax edit of a line
/// that is not a draft) changes nothing, though it is still marked pending.
public enum PendingOverlay {
    public static let marker = "_pending"

    /// The items of `collection` with the effects of `writes` (in queue order) applied.
    public static func apply(_ writes: [PendingWrite], to items: [JSONValue], collection: CollectionName) -> [JSONValue] {
        var positions: [String: Int] = [:]
        for (index, item) in items.enumerated() { if let id = item["id"]?.stringValue { positions[id] = index } }
        var result = items
        for write in writes where write.kind.collection == collection {
            let targets = targetIds(write).compactMap { id in positions[id].flatMap { index in
                result[index].objectValue.map { (index: index, item: $0) }
            } }
            // The server applies a write whole or not at all: one applied item makes it refuse every item.
            let refused = (write.kind == .missedBillingAction || write.kind == .missedBillingApply)
                && targets.contains { $0.item["status"]?.stringValue == "applied" }
            for var target in targets {
                if !refused { applyEffect(of: write, to: &target.item) }
                var marks = target.item[marker]?.arrayValue ?? []
                marks.append(.string(write.id))
                target.item[marker] = .array(marks)
                result[target.index] = .object(target.item)
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
            item["snoozeUntil"] = .null
            item["appliedMapping"] = payload["mapping"] ?? .null
        case .generatedInvoiceLineTax:
            // Only a draft's lines change (the server answers 409 otherwise).
            guard item["status"]?.stringValue == "draft" else { return }
            let edited = editFirstLine(of: &item, payload: payload) { line in
                InvoiceTax.recomputeLine(&line)
                return true
            }
            if edited { InvoiceTax.recomputeTotals(&item) }
        case .contractLineTax:
            // The server keeps no tax amount or total on contracts: nothing to recompute.
            _ = editFirstLine(of: &item, payload: payload) { line in line["status"]?.stringValue == "draft" }
        }
    }

    /// Sets `taxCode` and `taxRate` on the first line whose id is the payload's `lineId`, as the server finds it;
    /// `accept` (after the change) says whether the server would keep it or refuse the write. Returns whether the
    /// line changed.
    private static func editFirstLine(of item: inout JSONObject, payload: JSONObject,
                                      accept: (inout JSONObject) -> Bool) -> Bool {
        guard let lineId = payload["lineId"]?.stringValue, var lines = item["lines"]?.arrayValue,
              let index = lines.firstIndex(where: { $0.objectValue?["id"]?.stringValue == lineId }),
              var line = lines[index].objectValue else { return false }
        line["taxCode"] = payload["taxCode"] ?? .null
        line["taxRate"] = payload["taxRate"] ?? .null
        guard accept(&line) else { return false }
        lines[index] = .object(line)
        item["lines"] = .array(lines)
        return true
    }
}
