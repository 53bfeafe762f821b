import Foundation

/// Why a write was not queued, dropped or found. Nothing is written when one of these is thrown.
public enum QueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A kind that exists on the server but needs a connection (SPEC §5).
    case needsConnection(kind: String)
    /// Not a kind b1cache knows; `suggestion` is the offline kind it most likely meant.
    case unknownKind(kind: String, suggestion: String?)
    /// A payload field is missing, of the wrong type or out of range.
    case invalidField(field: String, reason: String)
    /// The payload names an item the cache does not hold.
    case targetNotFound(field: String, id: String, collection: CollectionName)
    /// The target exists but may not be changed offline (e.g. a tax edit on a line that is not a draft).
    case notEditable(field: String, reason: String)
    /// The missed-billing item is applied by a pending write (nil: by an earlier request of the same batch), so the
    /// server would refuse this one (409).
    case appliedByPendingWrite(field: String, itemId: String, writeId: String?)
    /// No pending or failed write with this id.
    case writeNotFound(id: String)
    /// An id prefix that more than one write starts with.
    case ambiguousId(prefix: String, matches: Int)
    /// An id prefix too short to name a write safely (`drop` deletes without asking).
    case idPrefixTooShort(prefix: String, minimum: Int)
    /// A line of an `enqueue --batch` input is wrong; no write of the batch was queued.
    case invalidBatchLine(line: Int, reason: String)
    /// An `enqueue --batch` export that cannot be imported as a whole (truncated, or of a newer b1cache).
    case invalidExport(reason: String)
    /// Writes of one account offered to a cache of another (an export imported into the wrong cache).
    case otherAccount(cache: Account, writes: Account)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .needsConnection(let kind):
            "'\(kind)' needs a connection and cannot be queued offline; the kinds that can be queued are: "
                + WriteKind.namesList
        case .unknownKind(let kind, let suggestion):
            "unknown write kind '\(kind)'; "
                + (suggestion.map { "did you mean '\($0)'?" }
                    ?? "the kinds that can be queued offline are: \(WriteKind.namesList)")
        case .invalidField(let field, let reason): "payload field '\(field)' \(reason)"
        case .targetNotFound(let field, let id, let collection):
            "payload field '\(field)': no \(collection.rawValue) item '\(id)' in the cache"
        case .notEditable(let field, let reason): "payload field '\(field)': \(reason)"
        case .appliedByPendingWrite(let field, let itemId, let writeId):
            "payload field '\(field)': missed-billing item '\(itemId)' is applied by "
                + (writeId.map { "pending write \($0)" } ?? "an earlier apply of this batch")
                + ", and the server refuses anything after an apply"
        case .writeNotFound(let id): "no pending or failed write with id '\(id)'"
        case .ambiguousId(let prefix, let matches): "'\(prefix)' matches \(matches) writes; give more of the id"
        case .idPrefixTooShort(let prefix, let minimum):
            "'\(prefix)' is too short to name a write; give the whole id or at least its first \(minimum) characters"
        case .invalidBatchLine(let line, let reason): "batch line \(line): \(reason); nothing was queued"
        case .invalidExport(let reason): "the export cannot be imported: \(reason); nothing was queued"
        case .otherAccount(let cache, let writes):
            "these writes belong to \(writes), but this cache belongs to \(cache); nothing was queued"
        }
    }

    /// What to do next.
    public var hint: String {
        switch self {
        case .needsConnection:
            "do it online, in BillingOne web or after 'b1cache sync'"
        case .unknownKind(_, let suggestion):
            suggestion == nil
                ? "an online action (push, OAuth connect, invoice run, …) needs a connection: do it in BillingOne web"
                : "the kinds that can be queued offline are: \(WriteKind.namesList)"
        case .invalidField, .invalidBatchLine: "see 'b1cache enqueue --help' and docs/WRITES.md for each kind's payload"
        case .targetNotFound: "check the id with 'b1cache show COLLECTION', or 'b1cache sync' to refresh the cache"
        case .notEditable:
            "only draft lines can be edited, and applied missed billing is final; change it on BillingOne web if it must"
        case .appliedByPendingWrite(_, _, let writeId):
            writeId.map { "if that apply was a mistake, 'b1cache drop \($0)' first; an applied item is final" }
                ?? "an applied item is final: leave this line out"
        case .writeNotFound, .ambiguousId, .idPrefixTooShort:
            "list the ids with 'b1cache queue' (and 'b1cache queue --failed')"
        case .invalidExport: "import the complete file that 'b1cache sign-out --export-pending' wrote"
        case .otherAccount:
            "import them into a cache of their own account ('b1cache sign-out', then sign in as that account)"
        }
    }
}
