import Foundation

/// The only kinds of write that may be queued offline (SPEC §5). Everything else needs a connection.
public enum WriteKind: String, CaseIterable, Sendable {
    case missedBillingAction = "missed-billing.action"
    case missedBillingApply = "missed-billing.apply"
    case generatedInvoiceLineTax = "generated-invoice.line-tax"
    case contractLineTax = "contract.line-tax"

    /// The collection whose items the write changes.
    public var collection: CollectionName {
        switch self {
        case .missedBillingAction, .missedBillingApply: .missedBilling
        case .generatedInvoiceLineTax: .generatedInvoices
        case .contractLineTax: .contracts
        }
    }

    public static var namesList: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The kind a mistyped name most likely meant (at most two letters off), for a "did you mean" hint.
    public static func closest(to name: String) -> WriteKind? {
        let typed = Array(name.lowercased())
        let scored = allCases.map { ($0, editDistance(typed, Array($0.rawValue))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
        return best.0
    }

    /// Levenshtein distance (insertions, deletions, substitutions).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, right) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
