import Foundation

/// A collection's cached items, read to be handed out one at a time: the envelope is held as its bytes (as sync
/// holds it, `EncodedItems`), and each item is parsed only when it is handed out, so reading a 122 MB envelope of
/// 100,000 invoices costs about the file in memory, not a `JSONValue` tree over three times its size, and one item by id
/// costs one parse of it after the file is read.
///
/// The items a pending or failed write touches are the only ones parsed up front: with `withPending` or
/// `syncState` they are shown as `Cache.items(of:…)` shows them (overlaid copies, `_pending` and `_sync` marks).
public struct ItemStream: Sendable {
    /// The collection read.
    public let collection: CollectionName
    /// With `withPending` or `syncState`: write files that could not be read, so their effect is not shown.
    public let unreadableWrites: [StoreError]
    private let path: String
    private let merge: ItemMerge<EncodedItems>
    /// The items writes touch, by id, as they are shown (overlaid, marked).
    private let shown: [String: JSONValue]

    /// How many items the envelope holds.
    public var count: Int { merge.items.count }

    /// The envelope of `paths` for `collection` as a stream, or nil when it was never synced.
    /// - Throws: `StoreError` (a corrupt envelope exactly as `CacheStore.envelope(for:)` reports it).
    static func load(paths: CachePaths, collection: CollectionName, withPending: Bool, syncState: Bool) throws
        -> ItemStream?
    {
        let writes = withPending || syncState ? try TriageWrites(paths: paths, pending: true, failed: syncState) : nil
        return try load(
            paths: paths, collection: collection, writes: writes, withPending: withPending, syncState: syncState)
    }

    /// `load(paths:collection:withPending:syncState:)` with the write files already read (`writes`; nil when
    /// neither option is on), for a reader of several collections.
    static func load(
        paths: CachePaths, collection: CollectionName, writes: TriageWrites?, withPending: Bool, syncState: Bool
    ) throws -> ItemStream? {
        guard let read = try CacheStore(paths: paths).encodedEnvelope(for: collection) else { return nil }
        let path = paths.envelope(for: collection).path
        var shown: [String: JSONValue] = [:]
        var unreadable: [StoreError] = []
        if let writes, withPending || syncState {
            unreadable = writes.unreadable
            var ids = Set<String>()
            for write in writes.pending + writes.failed where write.kind.collection == collection {
                ids.formUnion(write.typedPayload.targetIds)
            }
            // In the envelope's order, so the overlay sees the items as it would in the whole list.
            let touched = try ids.compactMap { read.items.slot(of: $0) }.sorted().compactMap { slot in
                try read.items.items.value(at: slot).map { try parsed($0, path: path) }
            }
            for item in writes.present(touched, collection: collection, withPending: withPending, syncState: syncState)
            {
                if let id = item["id"]?.stringValue { shown[id] = item }
            }
        }
        return ItemStream(
            collection: collection, unreadableWrites: unreadable, path: path, merge: read.items, shown: shown)
    }

    private init(
        collection: CollectionName, unreadableWrites: [StoreError], path: String, merge: ItemMerge<EncodedItems>,
        shown: [String: JSONValue]
    ) {
        self.collection = collection
        self.unreadableWrites = unreadableWrites
        self.path = path
        self.merge = merge
        self.shown = shown
    }

    /// The item `id` as shown, or nil when the collection holds no such item.
    public func item(id: String) throws -> JSONValue? {
        if let item = shown[id] { return item }
        guard let slot = merge.slot(of: id), let result = merge.items.value(at: slot) else { return nil }
        return try Self.parsed(result, path: path)
    }

    /// Hands each item, as shown, to `body`, in the envelope's order; stops at the first error `body` throws.
    public func forEach(_ body: (JSONValue) throws -> Void) throws {
        try merge.items.forEach { bytes in
            let item = try Self.parsed(JSONParser.parsing(bytes), path: path)
            if !shown.isEmpty, let id = item["id"]?.stringValue, let overlaid = shown[id] {
                try body(overlaid)
            } else {
                try body(item)
            }
        }
    }

    /// Every item, as shown (the whole list in memory: for a caller that needs it all at once).
    public func all() throws -> [JSONValue] {
        var list: [JSONValue] = []
        list.reserveCapacity(count)
        try forEach { list.append($0) }
        return list
    }

    /// An item's bytes were checked when the envelope was read; a parse failure now would be a changed file in
    /// memory, reported as a corrupt envelope rather than trapped on.
    private static func parsed(_ result: Result<JSONValue, JSONParseError>, path: String) throws -> JSONValue {
        switch result {
        case .success(let value): return value
        case .failure(let error): throw StoreError.corrupt(path: path, reason: "not valid JSON (\(error))")
        }
    }
}
