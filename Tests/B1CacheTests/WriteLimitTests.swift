import B1Cache
import Foundation
import Testing

/// The limits enqueue shares with the write decoder (`WriteLimits`, docs/WRITES.md §2): what enqueue accepts, the
/// decoder reads back and the server takes; what it refuses is refused with the field named and nothing written.
@Suite final class WriteLimitTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], environment: [String: String] = [:], input: Data? = nil) throws -> CommandResult
    {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment, input: input)
    }

    func apply(_ mapping: JSONValue, items: [String] = [Sample.openItem]) -> String {
        JSONWriter.compactString(["itemIds": .array(items.map { .string($0) }), "mapping": mapping])
    }

    static func text(_ character: Character, _ count: Int) -> String { String(repeating: character, count: count) }

    /// A mapping at every limit at once: a string of the longest length, the deepest nesting, and exactly
    /// `WriteLimits.mappingBytes` compactly encoded (plus `extraBytes`).
    static func mappingAtLimits(extraBytes: Int = 0) throws -> JSONObject {
        var deep: JSONValue = .string(text("d", WriteLimits.mappingString))
        for _ in 2...WriteLimits.mappingDepth { deep = .array([deep]) }
        var mapping: JSONObject = [
            "contractId": .string(Sample.mappingContract), "deep": deep, "pad": "",
            "notes": .array(Array(repeating: .string(text("n", WriteLimits.mappingString)), count: 15)),
        ]
        let padding = WriteLimits.mappingBytes - JSONWriter.compactString(.object(mapping)).utf8.count + extraBytes
        try #require((0...WriteLimits.mappingString).contains(padding))
        mapping["pad"] = .string(text("p", padding))
        return mapping
    }

    @Test func aMappingPastALimitIsRefusedNamingTheFieldAndNothingIsWritten() throws {
        let before = try snapshotFiles(under: cache)
        var tooDeep: JSONValue = "x"
        for _ in 1...WriteLimits.mappingDepth { tooDeep = .array([tooDeep]) }
        let contract = JSONValue.string(Sample.mappingContract)
        let cases: [(JSONValue, String)] = [
            // The issue's case: a 5 MB string was queued, then called corrupt by queue, flush and verify forever.
            (
                ["contractId": contract, "note": .string(Self.text("x", 5_000_000))],
                "payload field 'mapping.note' is 5000000 characters long; a string in the mapping may have at most 1000"
            ),
            (
                ["contractId": contract, "note": .string(Self.text("x", 1001))],
                "'mapping.note' is 1001 characters long"
            ),
            (
                ["contractId": contract, "list": .array(["a", .string(Self.text("é", 1001))])],
                "'mapping.list[1]' is 1001"
            ),
            (["contractId": contract, Self.text("k", 1001): 1], "'mapping key 'kkkkkkkk"),
            (
                ["contractId": contract, "deep": tooDeep],
                "'mapping.deep[0][0][0][0][0][0][0]' nests deeper than 8 levels"
            ),
            (
                ["contractId": contract, "quantity": .number("1e400")],
                "'mapping.quantity' is 1e400, a number too large"
            ),
            (
                .object(try Self.mappingAtLimits(extraBytes: 1)),
                "payload field 'mapping' is \(WriteLimits.mappingBytes + 1) bytes encoded; it may have at most \(WriteLimits.mappingBytes)"
            ),
        ]
        for (mapping, message) in cases {
            let result = try b1cache(
                ["enqueue", "missed-billing.apply", "--payload", "-"], input: Data(apply(mapping).utf8))
            #expect(result.status == 2, "\(message)")
            #expect(result.errorOutput.contains(message), "\(result.errorOutput.prefix(300))")
            #expect(!result.errorOutput.contains("xxxxxxxxxx"), "the message does not echo the value")
        }
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func aMappingAtEveryLimitIsQueuedAndReadBack() throws {
        let mapping = try Self.mappingAtLimits()
        let result = try b1cache(
            ["enqueue", "missed-billing.apply", "--payload", "-", "--json"],
            input: Data(apply(.object(mapping)).utf8))
        #expect(result.status == 0, "\(result.errorOutput)")
        let id = try #require(try JSONParser.parse(result.output)["id"]?.stringValue)
        let shown = try b1cache(["queue", "show", id])
        #expect(try JSONParser.parse(shown.output)["payload"]?["mapping"] == .object(mapping))
        #expect(try b1cache(["verify"]).status == 0)
    }

    /// 500 ids of 200 characters, some of them 3-byte '€', so that the write file is `bytes` long exactly.
    static let sampleAccount = Account(
        orgId: "org_7f3k2m9q", userId: "usr_4h8d1x",
        email: "dana.whitfield@northwind-msp.co.nz")

    static func itemIds(forWriteOf bytes: Int, mapping: JSONObject) throws -> [String] {
        func ids(_ euros: Int, accent: Bool) -> [String] {
            let count = WriteLimits.applyItems.upperBound
            return (0..<count).map { index in
                let head = "mb_limit_" + String(1000 + index)  // 13 characters
                let mine = euros / count + (index < euros % count ? 1 : 0)
                let tail = Self.text("€", mine) + (accent && index == 0 ? "é" : "")
                return head + tail + Self.text("a", WriteLimits.identifier - 13 - tail.count)
            }
        }
        func size(_ ids: [String]) -> Int {
            let payload: JSONObject = ["itemIds": .array(ids.map { .string($0) }), "mapping": .object(mapping)]
            var write = PendingWrite(id: UUID().uuidString.lowercased(), kind: .missedBillingApply, payload: payload)
            write.account = Self.sampleAccount  // every write is stamped with the cache's account
            return write.encoded().count
        }
        let missing = bytes - size(ids(0, accent: false))
        try #require(missing > 0)
        let result = ids(missing / 2, accent: missing % 2 == 1)  // '€' adds 2 bytes over 'a', 'é' 1
        try #require(size(result) == bytes)
        return result
    }

    @Test func aWriteAtTheSizeLimitRoundTripsThroughQueueFlushAndVerifyAndOneByteMoreIsRefused() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let mapping = try Self.mappingAtLimits()
        let ids = try Self.itemIds(forWriteOf: WriteLimits.encodedWrite, mapping: mapping)
        try server.admin(
            "admin/mutate",
            [
                "collection": "missed-billing",
                "upsert": .array(
                    ids.map { id -> JSONValue in
                        ["id": .string(id), "status": "open", "clientName": "Limit Ltd"]
                    }),
            ])
        let synced = try b1cache(["sync", "missed-billing"], environment: server.environment())
        #expect(synced.status == 0, "\(synced.errorOutput)")

        // One byte over: refused before anything is written, naming the field that makes it large.
        var over = ids
        over[1] = String(over[1].dropLast()) + "é"
        let before = try snapshotFiles(under: cache)
        let refused = try b1cache(
            ["enqueue", "missed-billing.apply", "--payload", "-"],
            input: Data(apply(.object(mapping), items: over).utf8))
        #expect(refused.status == 2)
        #expect(
            refused.errorOutput.contains(
                "payload field 'itemIds' makes the write \(WriteLimits.encodedWrite + 1) "
                    + "bytes encoded; a write may have at most \(WriteLimits.encodedWrite)"),
            "\(refused.errorOutput)")
        #expect(try snapshotFiles(under: cache) == before)

        let queued = try b1cache(
            ["enqueue", "missed-billing.apply", "--payload", "-", "--json"],
            input: Data(apply(.object(mapping), items: ids).utf8))
        #expect(queued.status == 0, "\(queued.errorOutput)")
        let answer = try JSONParser.parse(queued.output)
        let id = try #require(answer["id"]?.stringValue)
        let file = cache.appendingPathComponent("queue/\(try #require(answer["file"]?.stringValue))")
        #expect(try Data(contentsOf: file).count == WriteLimits.encodedWrite)
        #expect(try b1cache(["queue", "--json"]).lines.contains { $0.contains(id) })
        #expect(try b1cache(["verify"]).status == 0)

        let flushed = try b1cache(["flush"], environment: server.environment())
        #expect(flushed.status == 0, "\(flushed.output)\(flushed.errorOutput)")
        #expect(try server.appliedCounts()[id] == 1)
        let onServer = try server.items("missed-billing").filter {
            ($0["id"]?.stringValue ?? "").hasPrefix("mb_limit_")
        }
        #expect(onServer.count == ids.count)
        #expect(onServer.allSatisfy { $0["status"] == "applied" && $0["appliedMapping"] == .object(mapping) })
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func aServerMessageOfAnyLengthKeepsAFailedWriteReadable() throws {
        let long = Self.text("m", 3 * WriteLimits.lastError)
        let kept = WriteLimits.truncatedError(long)
        #expect(kept.unicodeScalars.count == WriteLimits.lastError)
        #expect(WriteLimits.truncatedError("short") == "short")
        // The worst a flush can add (every scalar escaped as \u00XX, three dates) stays far under the decoder's limit.
        #expect(WriteLimits.encodedWrite + 6 * WriteLimits.lastError + 200 < WriteLimits.file)
        // A full batch of the largest writes fits in one request to the server (32 MB, docs/PROTOCOL.md).
        #expect(ServerClient.batchLimit * WriteLimits.encodedWrite < 32 * 1024 * 1024)
    }
}
