import Foundation

/// A queued write as stored in `queue/<name>.json` or `failed/<name>.json` (SPEC §5).
public struct PendingWrite: Sendable, Equatable {
    /// The `format` every write file carries.
    public static let format = "b1cache.write"
    /// The schema this version writes and reads (FORMATS.md §6).
    public static let schemaVersion = 1
    /// A write file is small; anything larger is not one of ours (`WriteLimits`).
    public static let maximumFileSize = WriteLimits.file
    /// How many times one write can be retried (each retry is a new id, listed in `retryOf`).
    public static let maximumRetries = 99

    /// The write's id: its idempotency key, and the last part of its file name.
    public var id: String
    /// What the write does.
    public var kind: WriteKind
    /// The payload as given at enqueue (numbers and unknown fields kept).
    public var payload: JSONObject
    /// When it was queued (its file name's time, to the millisecond).
    public var createdAt: Date
    /// How many times flush sent it.
    public var attempts: Int
    /// When flush last sent it.
    public var lastAttemptAt: Date?
    /// What the last attempt got, as a sentence.
    public var lastError: String?
    /// The earliest time of the next attempt (backoff); nil for no wait.
    public var nextAttemptAt: Date?
    /// The account of the cache the write was queued in, when it was known (optional member `account`): a write
    /// is never sent under another account's session, even after it travelled in an export or the manifest that
    /// named the cache's account was lost.
    public var account: Account?
    /// The ids this write was sent under before, oldest first (optional member `retryOf`): `b1cache retry` sends a
    /// rejected write again under a new id, and the server answers it as a duplicate if any of these was applied.
    public var retryOf: [String] = []
    /// Members this version does not know, written back unchanged.
    public var otherMembers = JSONObject()

    /// A write (a fresh UUID id by default).
    public init(
        id: String = UUID().uuidString.lowercased(), kind: WriteKind, payload: JSONObject,
        createdAt: Date = Date(), attempts: Int = 0, lastAttemptAt: Date? = nil, lastError: String? = nil,
        nextAttemptAt: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.createdAt = createdAt
        self.attempts = attempts
        self.lastAttemptAt = lastAttemptAt
        self.lastError = lastError
        self.nextAttemptAt = nextAttemptAt
    }

    /// Parses a write file's bytes, keeping members this version does not know.
    /// - Throws: `StoreError.corrupt`, `.newerSchema` or `.unsupportedSchema` naming `path`.
    public static func decode(_ data: Data, path: String) throws -> PendingWrite {
        let value: JSONValue
        do { value = try JSONParser.parse(data) } catch {
            throw StoreError.corrupt(path: path, reason: "not valid JSON (\(error))")
        }
        let fields = try JSONFields(value, path: path, what: "a write")
        _ = try fields.checkFormat(format, currentSchema: schemaVersion)
        let kindName = try fields.string("kind")
        guard let kind = WriteKind(rawValue: kindName) else {
            throw StoreError.corrupt(path: path, reason: "unknown write kind '\(kindName)'")
        }
        guard let payload = fields.object["payload"]?.objectValue else { throw fields.fail("payload", "an object") }
        guard let createdAt = try fields.optionalDate("createdAt") else { throw fields.fail("createdAt", "a date") }
        var write = PendingWrite(
            id: try fields.string("id"), kind: kind, payload: payload, createdAt: createdAt,
            attempts: try fields.count("attempts"), lastAttemptAt: try fields.optionalDate("lastAttemptAt"),
            lastError: try fields.optionalString("lastError"), nextAttemptAt: try fields.optionalDate("nextAttemptAt"))
        if let account = fields.object["account"], !account.isNull {
            let accountFields = try JSONFields(account, path: path, what: "a write's account")
            write.account = Account(
                orgId: try accountFields.string("orgId"), userId: try accountFields.string("userId"),
                email: try accountFields.optionalString("email") ?? "")
        }
        if let earlier = fields.object["retryOf"] {
            guard let ids = earlier.arrayValue?.compactMap(\.stringValue), ids.count == earlier.arrayValue?.count,
                !ids.isEmpty, ids.count <= maximumRetries
            else {
                throw fields.fail("retryOf", "an array of 1 to \(maximumRetries) write ids")
            }
            write.retryOf = ids
        }
        var others = fields.object
        for known in [
            "format", "schemaVersion", "id", "kind", "payload", "createdAt", "attempts", "lastAttemptAt",
            "lastError", "nextAttemptAt", "account", "retryOf",
        ] { others[known] = nil }
        write.otherMembers = others
        return write
    }

    /// The write as a JSON object (the file's content, and the body sent to the server).
    public var json: JSONValue {
        var object = otherMembers
        object["format"] = .string(PendingWrite.format)
        object["schemaVersion"] = .integer(PendingWrite.schemaVersion)
        object["id"] = .string(id)
        object["kind"] = .string(kind.rawValue)
        object["payload"] = .object(payload)
        object["createdAt"] = .string(Timestamp.preciseString(createdAt))
        object["attempts"] = .integer(attempts)
        object["lastAttemptAt"] = .optionalPreciseDate(lastAttemptAt)
        object["lastError"] = .optionalString(lastError)
        object["nextAttemptAt"] = .optionalPreciseDate(nextAttemptAt)
        // Both optional: absent rather than null, so a file without them reads and re-encodes as before.
        if let account { object["account"] = account.json }
        if !retryOf.isEmpty { object["retryOf"] = .array(retryOf.map { .string($0) }) }
        return .object(object)
    }

    /// The file's bytes: pretty-printed, sorted keys, a final newline.
    public func encoded() -> Data { JSONWriter.prettyData(json) }
}
