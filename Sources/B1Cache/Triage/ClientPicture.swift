import Foundation

/// One client's whole picture, from the cache alone (`show --client ID`): the client and its subscriptions,
/// invoices, contracts, missed billing and generated drafts, with the pending writes' local effects applied and
/// every item a pending or failed write touches marked (`_pending`, `_sync`).
///
/// Which field ties an item to a client is per collection (`clientField(of:)`; docs/FORMATS.md, "A client's
/// picture"): the `clients` item by its `id`, the others by `clientId`. `dashboard`, `settings` and
/// `integrations` are the organisation's, not a client's.
public struct ClientPicture: Sendable {
    /// The member that names, on each item of a picture's output, the collection it comes from.
    public static let collectionMarker = "_collection"

    /// The collections with a client, in the order a picture lists them, and the field holding the client's id.
    public static let clientFields: [(collection: CollectionName, field: String)] = [
        (.clients, "id"), (.subscriptions, "clientId"), (.invoices, "clientId"), (.contracts, "clientId"),
        (.missedBilling, "clientId"), (.generatedInvoices, "clientId"),
    ]

    /// The field of `collection`'s items that holds a client's id; nil for the organisation's collections.
    public static func clientField(of collection: CollectionName) -> String? {
        clientFields.first { $0.collection == collection }?.field
    }

    static var collectionsList: String { clientFields.map(\.collection.rawValue).joined(separator: ", ") }

    /// One collection's items of the client.
    public struct Section: Sendable {
        /// The collection.
        public var collection: CollectionName
        /// The client's items, in the envelope's order.
        public var items: [JSONValue]
        /// False when the collection was never synced (so it shows nothing, not "none").
        public var cached: Bool
    }

    /// The client id asked for.
    public var clientId: String
    /// The `clients` item; nil when the clients collection does not hold it (items may still name it).
    public var client: JSONValue?
    /// One section per collection of `clientFields`, in that order.
    public var sections: [Section]
    /// The pending writes touching one of the client's items, in queue order.
    public var pendingWrites: [PendingWrite]
    /// The failed writes touching one of the client's items.
    public var failedWrites: [PendingWrite]
    /// Write files that could not be read, so their effect and state are not shown.
    public var unreadableWrites: [StoreError]

    /// Every item of the picture, each tagged with `_collection`, client first.
    public var taggedItems: [JSONValue] {
        sections.flatMap { section in
            section.items.map { item in
                guard var object = item.objectValue else { return item }
                object[Self.collectionMarker] = .string(section.collection.rawValue)
                return .object(object)
            }
        }
    }

    /// The section of `collection` (empty when it has no client field).
    public subscript(collection: CollectionName) -> Section {
        sections.first { $0.collection == collection } ?? Section(collection: collection, items: [], cached: false)
    }

    /// Gathers the picture of `clientId`.
    /// - Parameters:
    ///   - withPending: apply the pending writes' local effects (`PendingOverlay`), as a picture does by default.
    ///   - syncState: mark items touched by pending or failed writes (`SyncStateMarks`).
    /// - Throws: `TriageError.unknownClient` when no collection holds anything of `clientId`; `StoreError` for an
    ///   unreadable envelope.
    static func load(
        paths: CachePaths, clientId: String, writes: TriageWrites, withPending: Bool = true, syncState: Bool = true
    ) throws -> ClientPicture {
        var sections: [Section] = []
        var clientsStream: ItemStream?
        var touched = Set<String>()
        for (collection, field) in clientFields {
            // Item by item from the envelope's bytes, keeping the client's alone. The stream overlays the items
            // writes touch as the whole collection would (whether the server refuses a bulk apply depends on all
            // the items it names, the other clients' included).
            guard
                let stream = try ItemStream.load(
                    paths: paths, collection: collection, writes: writes, withPending: withPending,
                    syncState: syncState)
            else {
                sections.append(Section(collection: collection, items: [], cached: false))
                continue
            }
            if collection == .clients { clientsStream = stream }
            var items: [JSONValue] = []
            try stream.forEach { item in if item[field]?.stringValue == clientId { items.append(item) } }
            for item in items { if let id = item["id"]?.stringValue { touched.insert("\(collection.rawValue)/\(id)") } }
            sections.append(Section(collection: collection, items: items, cached: true))
        }
        func touches(_ write: PendingWrite) -> Bool {
            write.typedPayload.targetIds.contains { touched.contains("\(write.kind.collection.rawValue)/\($0)") }
        }
        let picture = ClientPicture(
            clientId: clientId, client: sections.first?.items.first, sections: sections,
            pendingWrites: writes.pending.filter(touches), failedWrites: writes.failed.filter(touches),
            unreadableWrites: writes.unreadable)
        guard picture.sections.contains(where: { !$0.items.isEmpty }) else {
            throw TriageError.unknownClient(
                id: clientId, suggestions: suggestions(for: clientId, in: try clientsStream?.all() ?? []),
                clientsCached: clientsStream != nil)
        }
        return picture
    }

    /// Clients whose id or name contains `text` (case-insensitive), for "did you mean".
    static func suggestions(for text: String, in clients: [JSONValue]) -> [TriageError.Suggestion] {
        let wanted = text.lowercased()
        guard !wanted.isEmpty else { return [] }
        return clients.compactMap { client in
            guard let id = client["id"]?.stringValue else { return nil }
            let name = client["name"]?.stringValue ?? ""
            guard id.lowercased().contains(wanted) || name.lowercased().contains(wanted) else { return nil }
            return TriageError.Suggestion(id: id, name: name)
        }
    }
}

/// The pending and failed writes a triage read shows, read once per read.
struct TriageWrites {
    var pending: [PendingWrite] = []
    var failed: [PendingWrite] = []
    var unreadable: [StoreError] = []

    /// Reads `queue/` (when `pending`) and `failed/` (when `failed`); unreadable files are kept as problems.
    init(paths: CachePaths, pending readPending: Bool, failed readFailed: Bool) throws {
        let queue = WriteQueue(paths: paths)
        for (place, wanted) in [(WriteQueue.Place.pending, readPending), (.failed, readFailed)] where wanted {
            for listed in try queue.list(place) {
                if let write = listed.write {
                    if place == .pending { pending.append(write) } else { failed.append(write) }
                } else if let problem = listed.problem {
                    unreadable.append(problem)
                }
            }
        }
    }

    /// `items` of `collection` with the local effects (`withPending`) and the `_sync` marks (`syncState`).
    func present(_ items: [JSONValue], collection: CollectionName, withPending: Bool, syncState: Bool) -> [JSONValue] {
        var shown = items
        if withPending { shown = PendingOverlay.apply(pending, to: shown, collection: collection) }
        if syncState {
            shown = SyncStateMarks.apply(pending: pending, failed: failed, to: shown, collection: collection)
        }
        return shown
    }
}
