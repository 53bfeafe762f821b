import Foundation

/// `history.jsonl`: what flush sent and what the server said, one JSON object per line, newest last, the
/// newest 1,000 kept (SPEC §7).
public struct History: Sendable {
    /// How many entries `history.jsonl` keeps (the newest).
    public static let limit = 1000
    /// Larger than 1,000 lines can be; a bigger file is not one b1cache wrote.
    public static let maximumFileSize = 64 * 1024 * 1024
    /// The cache whose history this is.
    public let paths: CachePaths

    /// The history of the cache at `paths`.
    public init(paths: CachePaths) { self.paths = paths }

    /// One line: `{id, kind, result, at, error?}`.
    public static func entry(_ write: PendingWrite, result: String, error: String? = nil, at date: Date = Date())
        -> JSONValue
    {
        var object: JSONObject = [
            "id": .string(write.id), "kind": .string(write.kind.rawValue), "result": .string(result),
            "at": .string(Timestamp.preciseString(date)),
        ]
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
        do { try DurableFile.write(data, to: paths.history) } catch {
            throw StoreError.from(error, writing: paths.history)
        }
    }

    /// The entries, oldest first; lines that are not JSON objects are skipped.
    public func entries() throws -> [JSONValue] { try read().entries }

    /// The entries, oldest first, and how many lines were skipped because they are not JSON objects.
    public func read() throws -> (entries: [JSONValue], skippedLines: Int) {
        let lines = try readLines()
        let entries = lines.compactMap { line -> JSONValue? in
            guard let value = try? JSONParser.parse(line), value.objectValue != nil else { return nil }
            return value
        }
        return (entries, lines.count - entries.count)
    }

    /// What is wrong with a history file's bytes ("line 3 is not a JSON object …"), or nil when every line is an
    /// entry. `entries()` skips such lines; `verify` reports them.
    public static func problem(in data: Data) -> String? {
        var number = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            if line.isEmpty { continue }
            do {
                guard try JSONParser.parse(Data(line)).objectValue != nil else {
                    return "line \(number) is not a JSON object"
                }
            } catch {
                return "line \(number) is not valid JSON (\(error.message) at column \(error.column))"
            }
        }
        return nil
    }

    private func readLines() throws -> [String] {
        let store = CacheStore(paths: paths)
        guard let data = try store.readIfPresent(paths.history, limit: Self.maximumFileSize) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
