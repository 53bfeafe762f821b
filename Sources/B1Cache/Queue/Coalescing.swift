import Foundation

/// The keys by which a new write fully supersedes a pending one (SPEC §5); `QueueView` applies the rule.
///
/// A tax edit of a draft line supersedes the pending tax edit of the same line; an action on a missed-billing
/// item supersedes the pending action on that item. Never across a write of another kind that touches the same
/// item in between (snooze, apply, ignore must reach the server in that order), and never an apply.
enum Coalescing {
    /// The key two writes share when the later one makes the earlier one pointless; nil for applies.
    static func supersedeKey(_ write: PendingWrite) -> String? {
        let payload = write.payload
        switch write.kind {
        case .missedBillingAction:
            return payload["itemId"]?.stringValue.map { "missed-billing/\($0)" }
        case .missedBillingApply:
            return nil
        case .generatedInvoiceLineTax:
            guard let invoice = payload["invoiceId"]?.stringValue, let line = payload["lineId"]?.stringValue else { return nil }
            return "generated-invoices/\(invoice)/\(line)"
        case .contractLineTax:
            guard let contract = payload["contractId"]?.stringValue, let line = payload["lineId"]?.stringValue else { return nil }
            return "contracts/\(contract)/\(line)"
        }
    }

    /// The items a write touches, as `collection/id` (and line) keys.
    static func touchedKeys(_ write: PendingWrite) -> Set<String> {
        switch write.kind {
        case .missedBillingApply:
            return Set((write.payload["itemIds"]?.arrayValue ?? []).compactMap { $0.stringValue.map { "missed-billing/\($0)" } })
        default:
            return supersedeKey(write).map { [$0] } ?? []
        }
    }
}
