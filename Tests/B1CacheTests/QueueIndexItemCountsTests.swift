@testable import B1Cache
import Foundation
import Testing

/// The item counts in `queue-index.jsonl`'s header (`items`, docs/FORMATS.md §5): what lets `inspect` and `status`
/// count the items pending writes touch without reading a line of the index. Enqueue keeps them as writes come and
/// go (supersedes, writes on an item already pending, on an item a failed write touches, large batches); after
/// every step `inspect` and `status` must say what the write files say, counted here from the files alone, and the
/// header must carry the counts (so the fast path is the one tested). Real binary, real files.
@Suite(.perTestTimeLimit) final class QueueIndexItemCountsTests {
    let folder = TemporaryFolder()
    let cache: URL
    var index: URL { cache.appendingPathComponent("queue-index.jsonl") }
    var paths: CachePaths { CachePaths(root: cache) }

    init() throws {
        cache = try Stress.seed(withExtraItems: 120, at: folder.path("cache"))
    }

    func b1cache(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], input: input.map { Data($0.utf8) })
    }

    func enqueue(_ lines: [String], _ step: String) throws {
        let result = try b1cache(["enqueue", "--batch", "-"], input: lines.joined(separator: "\n"))
        #expect(result.status == 0, "\(step): \(result.errorOutput)")
    }

    func action(_ item: String, _ verb: String) -> String {
        #"{"kind":"missed-billing.action","payload":{"itemId":"\#(item)","action":"\#(verb)"}}"#
    }

    func apply(_ items: [String]) -> String {
        let ids = items.map { "\"\($0)\"" }.joined(separator: ",")
        return
            #"{"kind":"missed-billing.apply","payload":{"itemIds":[\#(ids)],"mapping":{"contractId":"\#(Sample.mappingContract)"}}}"#
    }

    /// The sample's failed write is a tax fix on this contract's line.
    static let failedContract = "ct_xeqg3xe8qd"
    static let contractTax =
        #"{"kind":"contract.line-tax","payload":{"contractId":"ct_xeqg3xe8qd","lineId":"ctl_bqdte49xwj","taxCode":"OUTPUT","taxRate":10}}"#

    /// Per collection, `[pending, failed]` items as the write files say: an item a failed write touches is failed.
    func fromFiles() throws -> [String: [Int]] {
        let queue = WriteQueue(paths: paths)
        var pending: [String: Set<String>] = [:]
        var failed: [String: Set<String>] = [:]
        for write in try queue.readablePending() {
            pending[write.kind.collection.rawValue, default: []].formUnion(write.touchedItemIds)
        }
        for write in try queue.list(.failed).compactMap(\.write) {
            failed[write.kind.collection.rawValue, default: []].formUnion(write.touchedItemIds)
        }
        var counts: [String: [Int]] = [:]
        for name in Set(pending.keys).union(failed.keys) {
            let failing = failed[name] ?? []
            counts[name] = [(pending[name] ?? []).subtracting(failing).count, failing.count]
        }
        return counts.filter { $0.value != [0, 0] }
    }

    /// What `inspect --json` and `status --json` count agree with the files, and the header carries its counts.
    func expectAgreement(_ step: String, headerCounts: Bool = true) throws {
        let expected = try fromFiles()
        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)
        var shown: [String: [Int]] = [:]
        for line in inspect["collections"]?.arrayValue ?? [] {
            guard let name = line["name"]?.stringValue, let states = line["itemStates"] else { continue }
            let pair = [states["pending"]?.intValue ?? -1, states["failed"]?.intValue ?? -1]
            if pair != [0, 0] { shown[name] = pair }
        }
        #expect(shown == expected, "\(step): inspect per collection")
        let total: JSONValue = [
            "pending": .integer(expected.values.reduce(0) { $0 + $1[0] }),
            "failed": .integer(expected.values.reduce(0) { $0 + $1[1] }),
        ]
        #expect(inspect["itemStates"] == total, "\(step): inspect total")
        let status = try JSONParser.parse(try b1cache(["status", "--json"]).output)
        #expect(status["itemStates"] == total, "\(step): status total")
        let header = QueueIndex.freshHeader(paths)
        if headerCounts {
            #expect(header?.items != nil, "\(step): the header carries no item counts")
        }
        #expect(try verifyKinds() == [], "\(step): verify")
    }

    func verifyKinds(repair: Bool = false) throws -> [String] {
        let result = try b1cache(["verify", "--json"] + (repair ? ["--repair"] : []))
        return result.lines.compactMap { try? JSONParser.parse($0)["kind"]?.stringValue }
    }

    /// The header line of the index, and the index with another header line in its place (the lines kept).
    func header() throws -> String {
        try #require(try String(contentsOf: index, encoding: .utf8).split(separator: "\n").last.map(String.init))
    }

    func replaceHeader(with line: String) throws {
        var lines = try String(contentsOf: index, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[lines.count - 1] = line
        // Written in place: queue/'s time does not move, so the header still claims to be current.
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: index)
    }

    @Test func enqueueKeepsTheCountsRightThroughSupersedesSharedItemsAndFailedItems() throws {
        try expectAgreement("the sample as shipped", headerCounts: false)
        try enqueue((0..<10).map { action(Stress.extraItem($0), "ignore") }, "ten actions")
        try expectAgreement("ten actions")
        // One by one (appends), each superseding the last on the same item: the item counts once.
        for verb in ["mark-reviewed", "ignore", "mark-reviewed"] {
            try enqueue([action(Stress.extraItem(3), verb)], "supersede")
            try expectAgreement("supersede with \(verb)")
        }
        // An apply of an item already pending and one that is not: one more item.
        try enqueue([apply([Stress.extraItem(20), Stress.extraItem(21)])], "apply")
        try enqueue([action(Stress.extraItem(22), "ignore")], "action")
        try enqueue([apply([Stress.extraItem(22), Stress.extraItem(23)])], "apply on a pending item")
        try expectAgreement("applies")
        // A pending write on the item a failed write touches: that item stays counted as failed only.
        try enqueue([Self.contractTax], "contract tax")
        try expectAgreement("a pending write on a failed item")
        #expect(try fromFiles()["contracts"] == [0, 1])
        // A batch larger than the look-ups enqueue makes before it counts the queue whole.
        try enqueue((30..<120).map { action(Stress.extraItem($0), "ignore") }, "ninety actions")
        try expectAgreement("a batch of ninety")
        // Dropped and retried: the whole index is written again.
        let victim = try #require(try WriteQueue(paths: paths).readablePending().last)
        #expect(try b1cache(["drop", victim.id]).status == 0)
        try expectAgreement("after a drop")
        #expect(try b1cache(["retry", "--all"]).status == 0)
        try expectAgreement("after retrying the failed write")
        #expect(try fromFiles()["contracts"] == [1, 0])
    }

    @Test func anIndexWithoutCountsOrAStaleOneIsCountedFromTheFilesAndTheNextEnqueueCountsAgain() throws {
        try enqueue((0..<8).map { action(Stress.extraItem($0), "ignore") }, "eight actions")
        // An index written before the counts existed: readers count its lines; enqueue counts them whole once.
        let old = try header().replacingOccurrences(
            of: #","items":\{[^}]*\}"#, with: "", options: .regularExpression)
        try replaceHeader(with: old)
        #expect(QueueIndex.freshHeader(paths)?.items == nil)
        try expectAgreement("an index without counts", headerCounts: false)
        try enqueue([action(Stress.extraItem(50), "ignore")], "one more")
        try expectAgreement("counted again by the next enqueue")

        // A file removed by hand moves queue/'s time: the header is stale, the files are counted.
        let first = try #require(try WriteQueue(paths: paths).pendingEntries().last)
        try FileManager.default.removeItem(at: first.url)
        #expect(QueueIndex.freshHeader(paths) == nil)
        try expectAgreement("a file removed by hand", headerCounts: false)
        try enqueue([action(Stress.extraItem(51), "ignore")], "after the removal")
        try expectAgreement("after the removal")
    }

    @Test func countsThatLieAreWhatVerifyReportsAndRepairs() throws {
        try enqueue((0..<5).map { action(Stress.extraItem($0), "ignore") }, "five actions")
        let truthful = try header()
        #expect(truthful.contains(#""missed-billing":8"#), "\(truthful)")  // the sample's 3 and these 5
        try replaceHeader(
            with: truthful.replacingOccurrences(of: #""missed-billing":8"#, with: #""missed-billing":80"#))
        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)
        #expect(inspect["itemStates"]?["pending"]?.intValue == 80 + 1)  // the header is believed: hence verify
        #expect(try verifyKinds() == ["staleQueueIndex"])
        #expect(try verifyKinds(repair: true) == ["staleQueueIndex"])
        try expectAgreement("repaired")
    }
}
