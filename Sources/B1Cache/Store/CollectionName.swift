import Foundation

/// The nine cached collections of SPEC §3, in the order b1cache lists them.
public enum CollectionName: String, CaseIterable, Sendable, Comparable {
    case dashboard
    case subscriptions
    case invoices
    case clients
    case contracts
    case missedBilling = "missed-billing"
    case generatedInvoices = "generated-invoices"
    case settings
    case integrations

    /// False for collections the server only gives as a last known snapshot.
    public var isComplete: Bool { self != .settings && self != .integrations }

    /// By name, for a stable order of rewrites.
    public static func < (lhs: CollectionName, rhs: CollectionName) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    /// The names as a comma-separated list, for error messages.
    public static var namesList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
