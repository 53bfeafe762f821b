import Foundation

/// The pending-write export of `sign-out --export-pending FILE`, and the batch input of `enqueue --batch`
/// that reads it back (docs/FORMATS.md §8). Written and read here only.
///
/// JSON lines: a header `{"format":"b1cache.export","schemaVersion":1,"account":{…}|null,"exportedAt":…,
/// "writes":N}`, then one write per line as in `queue/` (with its `account`). The header says whose writes they
/// are, so they cannot be imported into another account's cache, and how many there are, so a truncated copy is
/// refused instead of half imported. A batch a person writes has no header: lines of `{"kind","payload"}`.
public struct PendingExport: Sendable {
    /// The header's `format`.
    public static let format = "b1cache.export"
    /// The export schema this version writes and reads.
    public static let schemaVersion = 1

    /// The account of the cache the writes were exported from; nil when it was not known.
    public var account: Account?
    /// The writes, pending first then failed, each stamped with its account.
    public var writes: [PendingWrite]
    /// When the export was written.
    public var exportedAt: Date

    /// An export of `writes` of the cache of `account`.
    public init(account: Account?, writes: [PendingWrite], exportedAt: Date = Date()) {
        self.account = account
        self.exportedAt = exportedAt
        // Each write carries its account too: one copied out of the file alone still says whose it is.
        self.writes = writes.map { write in
            var write = write
            if write.account == nil { write.account = account }
            return write
        }
    }

    /// The file's bytes: the header line, then one compact write per line.
    public func encoded() -> Data {
        var header: JSONObject = [
            "format": .string(Self.format), "schemaVersion": .integer(Self.schemaVersion),
            "exportedAt": .string(Timestamp.string(exportedAt)), "writes": .integer(writes.count),
        ]
        header["account"] = account?.json ?? .null
        var data = Data(JSONWriter.compactString(.object(header)).utf8)
        data.append(0x0A)
        for write in writes {
            data.append(Data(JSONWriter.compactString(write.json).utf8))
            data.append(0x0A)
        }
        return data
    }
}

/// What `enqueue --batch` reads: an export (with its header) or lines a person wrote.
public struct WriteBatch: Sendable {
    /// The account named by an export's header; nil for a batch without one (or an export of an unknown account).
    public var account: Account?
    /// The writes, with the physical line number (from 1, blank lines counted) each came from.
    public var requests: [(line: Int, request: WriteRequest)]
    /// True when the input was an export (it may hold no writes: nothing was pending).
    public var isExport: Bool

    /// Parses JSON lines of `{"kind","payload"}` (plus `id` and `account` in an exported write), optionally after an
    /// export header.
    /// - Throws: `QueueError.invalidBatchLine` naming the line; `QueueError.invalidExport` for a header of a newer
    ///   format or a write count that does not match (a truncated copy).
    public static func parse(_ data: Data) throws -> WriteBatch {
        var batch = WriteBatch(account: nil, requests: [], isExport: false)
        var expected: Int?
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            let value: JSONValue
            do { value = try JSONParser.parse(text) } catch {
                throw QueueError.invalidBatchLine(line: number, reason: "not valid JSON (\(error))")
            }
            if value["format"]?.stringValue == PendingExport.format {
                guard !batch.isExport, batch.requests.isEmpty else {
                    throw QueueError.invalidBatchLine(line: number, reason: "an export header must be the first line")
                }
                (batch.account, expected) = try header(value, line: number)
                batch.isExport = true
                continue
            }
            guard let kind = value["kind"]?.stringValue else {
                throw QueueError.invalidBatchLine(line: number, reason: "needs a string 'kind'")
            }
            guard let payload = value["payload"] else {
                throw QueueError.invalidBatchLine(line: number, reason: "needs a 'payload' object")
            }
            var request = WriteRequest(kind: kind, payload: payload, id: value["id"]?.stringValue, line: number)
            if let account = value["account"], !account.isNull {
                guard let orgId = account["orgId"]?.stringValue, let userId = account["userId"]?.stringValue else {
                    throw QueueError.invalidBatchLine(line: number, reason: "'account' needs string orgId and userId")
                }
                request.account = Account(orgId: orgId, userId: userId, email: account["email"]?.stringValue ?? "")
            }
            request.account = request.account ?? batch.account
            if let earlier = value["retryOf"]?.arrayValue { request.retryOf = earlier.compactMap(\.stringValue) }
            batch.requests.append((number, request))
        }
        if let expected, expected != batch.requests.count {
            throw QueueError.invalidExport(
                reason: "its header counts \(expected) writes, but it holds "
                    + "\(batch.requests.count): the file is incomplete")
        }
        return batch
    }

    private static func header(_ value: JSONValue, line: Int) throws -> (Account?, Int) {
        guard let version = value["schemaVersion"]?.intValue, version >= 1 else {
            throw QueueError.invalidBatchLine(line: line, reason: "the export header needs a schemaVersion")
        }
        guard version <= PendingExport.schemaVersion else {
            throw QueueError.invalidExport(
                reason: "it was written by a newer b1cache (schema \(version)); upgrade b1cache")
        }
        guard let count = value["writes"]?.intValue, count >= 0 else {
            throw QueueError.invalidBatchLine(line: line, reason: "the export header needs a 'writes' count")
        }
        guard let account = value["account"], !account.isNull else { return (nil, count) }
        guard let orgId = account["orgId"]?.stringValue, let userId = account["userId"]?.stringValue else {
            throw QueueError.invalidBatchLine(line: line, reason: "the export header's account needs orgId and userId")
        }
        return (Account(orgId: orgId, userId: userId, email: account["email"]?.stringValue ?? ""), count)
    }
}
