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
        Spelling.closest(to: name, among: allCases.map(\.rawValue)).flatMap(WriteKind.init(rawValue:))
    }
}
