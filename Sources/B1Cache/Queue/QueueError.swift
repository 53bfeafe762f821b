import Foundation

/// Why a write was not queued, dropped or found. Nothing is written when one of these is thrown.
public enum QueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not one of the four kinds that may be queued offline.
    case needsConnection(kind: String)
    /// A payload field is missing, of the wrong type or out of range.
    case invalidField(field: String, reason: String)
    /// The payload names an item the cache does not hold.
    case targetNotFound(field: String, id: String, collection: CollectionName)
    /// The target exists but may not be changed offline (e.g. a tax edit on a line that is not a draft).
    case notEditable(field: String, reason: String)
    /// No pending or failed write with this id.
    case writeNotFound(id: String)
    /// A line of an `enqueue --batch` input is wrong; no write of the batch was queued.
    case invalidBatchLine(line: Int, reason: String)
    /// An `enqueue --batch` export that cannot be imported as a whole (truncated, or of a newer b1cache).
    case invalidExport(reason: String)
    /// Writes of one account offered to a cache of another (an export imported into the wrong cache).
    case otherAccount(cache: Account, writes: Account)

    public var description: String {
        switch self {
        case .needsConnection(let kind):
            "'\(kind)' needs a connection and cannot be queued offline; the kinds that can be queued are: "
                + WriteKind.namesList
        case .invalidField(let field, let reason): "payload field '\(field)' \(reason)"
        case .targetNotFound(let field, let id, let collection):
            "payload field '\(field)': no \(collection.rawValue) item '\(id)' in the cache"
        case .notEditable(let field, let reason): "payload field '\(field)': \(reason)"
        case .writeNotFound(let id): "no pending or failed write with id '\(id)'"
        case .invalidBatchLine(let line, let reason): "batch line \(line): \(reason); nothing was queued"
        case .invalidExport(let reason): "the export cannot be imported: \(reason); nothing was queued"
        case .otherAccount(let cache, let writes):
            "these writes belong to \(writes), but this cache belongs to \(cache); nothing was queued"
        }
    }

    public var hint: String {
        switch self {
        case .needsConnection(let kind):
            WriteKind.closest(to: kind).map { "did you mean '\($0.rawValue)'?" } ?? "do it online, in BillingOne web or after 'b1cache sync'"
        case .invalidField, .invalidBatchLine: "see 'b1cache enqueue --help' and docs/WRITES.md for each kind's payload"
        case .targetNotFound: "check the id with 'b1cache show COLLECTION', or 'b1cache sync' to refresh the cache"
        case .notEditable: "only draft lines can be edited, and applied missed billing is final; change it on BillingOne web if it must"
        case .writeNotFound: "list the ids with 'b1cache queue' (and 'b1cache queue --failed')"
        case .invalidExport: "import the complete file that 'b1cache sign-out --export-pending' wrote"
        case .otherAccount:
            "import them into a cache of their own account ('b1cache sign-out', then sign in as that account)"
        }
    }
}
