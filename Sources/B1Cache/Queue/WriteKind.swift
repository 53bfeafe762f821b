import Foundation

/// A kind of write that may be queued offline (SPEC §5); everything else needs a connection.
///
/// Each kind is a `WritePayload` type in `Queue/Kinds/` that owns what the kind means (its payload, checks, the
/// items it touches, coalescing, local effect, help line), and declares its `WriteKind` constant there
/// (`.missedBillingAction`, …). A kind compares and hashes by its name.
public struct WriteKind: Hashable, Sendable, RawRepresentable, CaseIterable, CustomStringConvertible {
    /// Every kind that can be queued offline, in the order help and messages list them. The one list of kinds: a
    /// new kind is one file in `Queue/Kinds/` and one line here (docs/WRITES.md, "Adding a kind").
    public static let allCases: [WriteKind] = [
        .missedBillingAction,
        .missedBillingApply,
        .generatedInvoiceLineTax,
        .contractLineTax,
    ]

    /// The kind's name, as in write files and `b1cache enqueue KIND`.
    public let rawValue: String
    /// The type that owns the kind's rules.
    let rules: any WritePayload.Type

    init(_ rules: any WritePayload.Type) {
        self.rawValue = rules.name
        self.rules = rules
    }

    /// The kind named `rawValue`; nil for a name that is not one of `allCases`.
    public init?(rawValue: String) {
        guard let kind = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = kind
    }

    /// Two kinds are the same when their names are.
    public static func == (lhs: WriteKind, rhs: WriteKind) -> Bool { lhs.rawValue == rhs.rawValue }
    /// Hashes the name, as `==` compares it.
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
    /// The kind's name.
    public var description: String { rawValue }

    /// The collection whose items the write changes.
    public var collection: CollectionName { rules.collection }

    /// The payload's fields in one line, as `enqueue --help` lists them.
    public var payloadHelp: String { rules.payloadHelp }

    /// The names of all kinds, comma-separated, for messages.
    public static var namesList: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The kind a mistyped name most likely meant (at most two letters off), for a "did you mean" hint.
    public static func closest(to name: String) -> WriteKind? {
        Spelling.closest(to: name, among: allCases.map(\.rawValue)).flatMap(WriteKind.init(rawValue:))
    }
}
