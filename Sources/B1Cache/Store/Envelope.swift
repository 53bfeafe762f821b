import Foundation

/// One cached collection as stored in `collections/<name>.json` (SPEC §3).
///
/// Items stay `JSONValue`s so fields the server adds later survive a read-modify-write; unknown top-level
/// members of the file are kept too.
public struct Envelope: Sendable, Equatable {
    /// The `format` member every envelope carries.
    public static let format = "b1cache.envelope"
    /// The schema this version writes and reads (FORMATS.md §6).
    public static let schemaVersion = 1

    /// The collection; must match the file name.
    public var collection: CollectionName
    /// Increases by one on every rewrite of the file.
    public var revision: Int
    /// When it was last pulled; nil for an envelope never synced (emptied, or made by a flush).
    public var syncedAt: Date?
    /// The server's opaque cursor for the next incremental pull.
    public var cursor: String?
    /// False for last-known snapshots (settings, integrations).
    public var complete: Bool
    /// Objects, each with a unique string `id`.
    public var items: [JSONValue]
    /// Top-level members this version does not know, written back unchanged.
    public var otherMembers: JSONObject

    /// An envelope; `complete` defaults to the collection's own (false for the snapshots).
    public init(
        collection: CollectionName, revision: Int = 0, syncedAt: Date? = nil, cursor: String? = nil,
        complete: Bool? = nil, items: [JSONValue] = []
    ) {
        self.collection = collection
        self.revision = revision
        self.syncedAt = syncedAt
        self.cursor = cursor
        self.complete = complete ?? collection.isComplete
        self.items = items
        self.otherMembers = JSONObject()
    }

    /// The item with this id, if present.
    public func item(id: String) -> JSONValue? {
        items.first { $0["id"]?.stringValue == id }
    }

    /// Parses an envelope file's bytes.
    /// - Parameters:
    ///   - path: the file, named in every error.
    ///   - expected: the collection the file name says it holds.
    /// - Throws: `StoreError.corrupt` (with line and column for bad JSON), `.newerSchema`.
    public static func decode(_ data: Data, path: String, expected: CollectionName? = nil) throws -> Envelope {
        let value: JSONValue
        do { value = try JSONParser.parse(data) } catch {
            throw StoreError.corrupt(path: path, reason: "not valid JSON (\(error))")
        }
        var envelope = try header(of: value, path: path, expected: expected)
        envelope.items = value["items"]?.arrayValue ?? []  // `header` checked it is an array
        try checkItems(envelope.items, path: path)
        return envelope
    }

    /// Every member of a parsed envelope but its items (left empty), checked as `decode` checks them.
    static func header(of value: JSONValue, path: String, expected: CollectionName?) throws -> Envelope {
        let fields = try JSONFields(value, path: path, what: "an envelope")
        _ = try fields.checkFormat(format, currentSchema: schemaVersion)
        let name = try fields.string("collection")
        guard let collection = CollectionName(rawValue: name) else {
            throw StoreError.corrupt(path: path, reason: "unknown collection '\(name)'")
        }
        if let expected, expected != collection {
            throw StoreError.corrupt(path: path, reason: "holds '\(name)' but is the file of '\(expected.rawValue)'")
        }
        guard fields.object["items"]?.arrayValue != nil else { throw fields.fail("items", "an array") }
        var envelope = Envelope(
            collection: collection, revision: try fields.count("revision"),
            syncedAt: try fields.optionalDate("syncedAt"),
            cursor: try fields.optionalString("cursor"),
            complete: try fields.bool("complete"))
        var others = fields.object
        for known in ["format", "schemaVersion", "collection", "revision", "syncedAt", "cursor", "complete", "items"] {
            others[known] = nil
        }
        envelope.otherMembers = others
        return envelope
    }

    /// Every item must be an object with a unique string id.
    static func checkItems(_ items: [JSONValue], path: String) throws {
        var seen = Set<String>(minimumCapacity: items.count)
        for (index, item) in items.enumerated() {
            guard let id = item["id"]?.stringValue else {
                throw StoreError.corrupt(path: path, reason: "item \(index) has no string 'id'")
            }
            guard seen.insert(id).inserted else {
                throw StoreError.corrupt(path: path, reason: "item id '\(id)' appears more than once")
            }
        }
    }

    /// The file's bytes: sorted keys, pretty-printed, trailing newline.
    public func encoded() -> Data { JSONWriter.prettyData(value) }

    /// Writes the file's bytes (those of `encoded()`) durably to `url` as they are encoded, never holding them whole:
    /// a 122 MB collection costs its items and a 1 MB buffer. Returns the file's size.
    @discardableResult
    public func write(to url: URL) throws -> Int {
        let value = self.value
        return try DurableFile.writeStreaming(to: url) { append in try JSONWriter.streamPretty(value, into: append) }
    }

    /// The envelope as the JSON object it is stored as.
    var value: JSONValue {
        var object = otherMembers
        object["format"] = .string(Envelope.format)
        object["schemaVersion"] = .integer(Envelope.schemaVersion)
        object["collection"] = .string(collection.rawValue)
        object["revision"] = .integer(revision)
        object["syncedAt"] = .optionalDate(syncedAt)
        object["cursor"] = .optionalString(cursor)
        object["complete"] = .bool(complete)
        object["items"] = .array(items)
        return .object(object)
    }
}
