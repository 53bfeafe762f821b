import Foundation

/// The account a cache belongs to (SPEC §4). A cache never holds data of two accounts.
public struct Account: Sendable, Equatable, CustomStringConvertible {
    /// The organisation (the first half of the account's identity).
    public var orgId: String
    /// The user (the second half).
    public var userId: String
    /// For people; not part of the identity (it may change).
    public var email: String
    /// Members of the manifest's `account` this version does not know, written back unchanged.
    public var otherMembers = JSONObject()

    /// An account as the server's `GET /v1/session` names it.
    public init(orgId: String, userId: String, email: String) {
        self.orgId = orgId
        self.userId = userId
        self.email = email
    }

    /// `dana@example.com (org_…)`, or the ids when no email is known.
    public var description: String { email.isEmpty ? "organisation \(orgId) (user \(userId))" : "\(email) (\(orgId))" }

    /// The same organisation and user (the email may change; it is not the account's identity).
    public func isSame(as other: Account) -> Bool { orgId == other.orgId && userId == other.userId }

    var json: JSONValue {
        var object = otherMembers
        object["orgId"] = .string(orgId)
        object["userId"] = .string(userId)
        object["email"] = .string(email)
        return .object(object)
    }
}

/// One collection's sync state in the manifest.
public struct CollectionState: Sendable, Equatable {
    /// When the collection was last pulled; nil when never.
    public var syncedAt: Date?
    /// The envelope's revision (it increases by one on every rewrite).
    public var revision: Int
    /// How many items the envelope holds.
    public var count: Int
    /// The envelope file's size.
    public var bytes: Int
    /// The server's cursor for the next incremental pull.
    public var cursor: String?
    /// When a later pull that brought no change confirmed this revision of the envelope current (optional member
    /// `confirmedAt`); nil when the last pull rewrote the envelope. A no-change pull records this instead of
    /// rewriting the envelope (docs/SYNC.md "A pull that brings nothing").
    public var confirmedAt: Date?
    /// The cursor that confirming pull ended on, when it is not `cursor` (optional member `confirmedCursor`).
    public var confirmedCursor: String?
    /// Members of the entry this version does not know, written back unchanged (kept when the entry is updated).
    public var otherMembers = JSONObject()

    /// An entry as `CacheStore` writes it beside its envelope.
    public init(syncedAt: Date?, revision: Int, count: Int, bytes: Int, cursor: String?) {
        self.syncedAt = syncedAt
        self.revision = revision
        self.count = count
        self.bytes = bytes
        self.cursor = cursor
    }

    /// When the collection was last known current: the later of `syncedAt` (its items last written by a pull)
    /// and `confirmedAt` (a pull that found nothing new). The stale rule and `inspect` use this time.
    public var freshAt: Date? {
        guard let confirmedAt else { return syncedAt }
        guard let syncedAt else { return confirmedAt }
        return max(syncedAt, confirmedAt)
    }

    /// The cursor an incremental pull of the envelope this entry describes starts from.
    public var resumeCursor: String? { confirmedCursor ?? cursor }
}

/// `manifest.json`: the account, each collection's sync state and the last Sync All (SPEC §4).
/// Small by design, so `inspect` answers from it without reading any envelope.
public struct Manifest: Sendable, Equatable {
    /// The `format` member every manifest carries.
    public static let format = "b1cache.manifest"
    /// The schema this version writes and reads (FORMATS.md §6).
    public static let schemaVersion = 1
    /// The default age past which a collection counts as stale.
    public static let defaultStaleAfter: TimeInterval = 24 * 3600

    /// The account the cache belongs to; nil until the first flush or sync records it.
    public var account: Account?
    /// Start of the last Sync All in which every collection succeeded.
    public var lastSyncAllAt: Date?
    /// One entry per synced collection.
    public var collections: [CollectionName: CollectionState]
    /// Members this version does not know (including entries of collections it does not know).
    public var otherMembers: JSONObject
    var otherCollections: JSONObject

    /// A manifest with no unknown members.
    public init(
        account: Account? = nil, lastSyncAllAt: Date? = nil, collections: [CollectionName: CollectionState] = [:]
    ) {
        self.account = account
        self.lastSyncAllAt = lastSyncAllAt
        self.collections = collections
        self.otherMembers = JSONObject()
        self.otherCollections = JSONObject()
    }

    /// Stale: synced before the last Sync All, or longer ago than `staleAfter` (SPEC §4).
    public func isStale(
        _ collection: CollectionName, now: Date = Date(),
        staleAfter: TimeInterval = Manifest.defaultStaleAfter
    ) -> Bool {
        guard let syncedAt = collections[collection]?.freshAt else { return true }
        if let lastSyncAllAt, syncedAt < lastSyncAllAt { return true }
        return now.timeIntervalSince(syncedAt) > staleAfter
    }

    /// Parses a manifest file's bytes, keeping members this version does not know.
    /// - Throws: `StoreError.corrupt`, `.newerSchema` or `.unsupportedSchema` naming `path`.
    public static func decode(_ data: Data, path: String) throws -> Manifest {
        let value: JSONValue
        do { value = try JSONParser.parse(data) } catch {
            throw StoreError.corrupt(path: path, reason: "not valid JSON (\(error))")
        }
        let fields = try JSONFields(value, path: path, what: "a manifest")
        _ = try fields.checkFormat(format, currentSchema: schemaVersion)
        var manifest = Manifest(lastSyncAllAt: try fields.optionalDate("lastSyncAllAt"))
        if let account = fields.object["account"], !account.isNull {
            let accountFields = try JSONFields(account, path: path, what: "an account")
            var owner = Account(
                orgId: try accountFields.string("orgId"), userId: try accountFields.string("userId"),
                email: try accountFields.string("email"))
            owner.otherMembers = accountFields.object.removing(["orgId", "userId", "email"])
            manifest.account = owner
        }
        guard let entries = (fields.object["collections"] ?? .object(JSONObject())).objectValue else {
            throw fields.fail("collections", "an object")
        }
        for (name, entry) in entries.members {
            guard let collection = CollectionName(rawValue: name) else {
                manifest.otherCollections[name] = entry
                continue
            }
            let entryFields = try JSONFields(entry, path: path, what: "a collection entry for '\(name)'")
            var state = CollectionState(
                syncedAt: try entryFields.optionalDate("syncedAt"), revision: try entryFields.count("revision"),
                count: try entryFields.count("count"), bytes: try entryFields.count("bytes"),
                cursor: try entryFields.optionalString("cursor"))
            state.confirmedAt = try entryFields.optionalDate("confirmedAt")
            state.confirmedCursor = try entryFields.optionalString("confirmedCursor")
            state.otherMembers = entryFields.object.removing(
                ["syncedAt", "revision", "count", "bytes", "cursor", "confirmedAt", "confirmedCursor"])
            manifest.collections[collection] = state
        }
        manifest.otherMembers = fields.object.removing([
            "format", "schemaVersion", "account", "lastSyncAllAt", "collections",
        ])
        return manifest
    }

    /// The file's bytes: pretty-printed, sorted keys, a final newline.
    public func encoded() -> Data {
        var entries = otherCollections
        for (collection, state) in collections {
            var entry = state.otherMembers
            entry["syncedAt"] = .optionalDate(state.syncedAt)
            entry["revision"] = .integer(state.revision)
            entry["count"] = .integer(state.count)
            entry["bytes"] = .integer(state.bytes)
            entry["cursor"] = .optionalString(state.cursor)
            // Optional members (FORMATS.md §4): written only when set, so an entry without them reads as before.
            if let confirmedAt = state.confirmedAt { entry["confirmedAt"] = .optionalDate(confirmedAt) }
            if let confirmedCursor = state.confirmedCursor { entry["confirmedCursor"] = .string(confirmedCursor) }
            entries[collection.rawValue] = .object(entry)
        }
        var object = otherMembers
        object["format"] = .string(Manifest.format)
        object["schemaVersion"] = .integer(Manifest.schemaVersion)
        object["account"] = account?.json ?? .null
        object["lastSyncAllAt"] = .optionalDate(lastSyncAllAt)
        object["collections"] = .object(entries)
        return JSONWriter.prettyData(.object(object))
    }
}

extension JSONObject {
    /// The object without the named members.
    func removing(_ keys: [String]) -> JSONObject {
        var copy = self
        for key in keys { copy[key] = nil }
        return copy
    }
}
