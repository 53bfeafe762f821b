import Foundation

/// What can go wrong asking for a triage read (`show --client`, `--csv --fields`, a storage budget). Each case
/// names what was given and carries what a person needs to put it right; the CLI's exit code is 2 for the ones
/// that are input mistakes and 1 for a client the cache does not hold (as for an unknown `--id`).
public enum TriageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No item of the client collections belongs to this client id.
    /// - Parameters:
    ///   - suggestions: clients whose id or name contains the text given, as `(id, name)`.
    ///   - clientsCached: false when `clients` was never synced.
    case unknownClient(id: String, suggestions: [Suggestion], clientsCached: Bool)
    /// A `--fields` name that no item of the output has.
    case unknownField(name: String, known: [String])
    /// A `--fields` list with an empty name (`id,,name`, or nothing at all).
    case emptyFieldName(list: String)
    /// A collection that is not tied to a client (`dashboard`, `settings`, `integrations`).
    case notPerClient(collection: CollectionName)
    /// A budget that is not a positive size.
    /// - Parameter source: where it came from (`--budget`, `B1CACHE_BUDGET`).
    case invalidBudget(text: String, source: String)

    /// A client that may be the one meant.
    public struct Suggestion: Sendable, Equatable {
        /// The client's id.
        public var id: String
        /// The client's name.
        public var name: String
    }

    /// The sentence after `b1cache: error:`.
    public var description: String {
        switch self {
        case .unknownClient(let id, _, let clientsCached):
            clientsCached
                ? "no client with id '\(id)' in the cache (no item of \(ClientPicture.collectionsList) names it)"
                : "no client with id '\(id)' in the cache, and clients is not cached yet"
        case .unknownField(let name, _):
            "--fields: no item has a field '\(name)'"
        case .emptyFieldName(let list):
            "--fields: '\(list)' has an empty field name"
        case .notPerClient(let collection):
            "\(collection.rawValue) is not kept per client, so --client cannot choose its items"
        case .invalidBudget(let text, let source):
            "\(source) takes a size such as 100MB, 1.5GB or 250000000 (bytes), more than 0, not '\(text)'"
        }
    }

    /// What to do about it.
    public var hint: String {
        switch self {
        case .unknownClient(_, let suggestions, let clientsCached):
            if !suggestions.isEmpty {
                let names = suggestions.prefix(3).map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
                return "did you mean \(names)?"
            }
            return clientsCached
                ? "list the clients with 'b1cache show clients --csv --fields id,name'"
                : "run 'b1cache sync' while online"
        case .unknownField(let name, let known):
            let guess = Spelling.closest(to: name, among: known).map { "did you mean '\($0)'? " } ?? ""
            return guess + "fields: " + known.joined(separator: ", ")
        case .emptyFieldName:
            return "give the field names separated by commas, e.g. --fields id,number,total"
        case .notPerClient:
            return "collections with a client: \(ClientPicture.collectionsList)"
        case .invalidBudget:
            return "units are B, KB, MB, GB (1000) and KiB, MiB, GiB (1024); the default is 100MB"
        }
    }
}
