import Foundation

/// `history.jsonl`: what flush sent and what the server said, one JSON object per line, newest last, the
/// newest 1,000 kept (SPEC §7).
public struct History: Sendable {
    public static let limit = 1000
    public let paths: CachePaths

    public init(paths: CachePaths) { self.paths = paths }

    /// One line: `{id, kind, result, at, error?}`.
    public static func entry(_ write: PendingWrite, result: String, error: String? = nil, at date: Date = Date()) -> JSONValue {
        var object: JSONObject = ["id": .string(write.id), "kind": .string(write.kind.rawValue), "result": .string(result),
                                  "at": .string(Timestamp.preciseString(date))]
        if let error { object["error"] = .string(error) }
        return .object(object)
    }

    /// Appends entries, keeping the newest `limit` lines; written durably as a whole so a crash never tears it.
    public func append(_ entries: [JSONValue]) throws {
        guard !entries.isEmpty else { return }
        var lines = try readLines()
        lines += entries.map { JSONWriter.compactString($0) }
        if lines.count > Self.limit { lines.removeFirst(lines.count - Self.limit) }
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        do { try DurableFile.write(data, to: paths.history) } catch { throw StoreError.from(error, writing: paths.history) }
    }

    /// The entries, oldest first; lines that do not parse are skipped.
    public func entries() throws -> [JSONValue] {
        try readLines().compactMap { try? JSONParser.parse($0) }
    }

    private func readLines() throws -> [String] {
        guard let data = try CacheStore(paths: paths).readIfPresent(paths.history, limit: 64 * 1024 * 1024) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
