import B1Cache
import Foundation
import Testing

/// `queue-index.jsonl` (docs/FORMATS.md §5) is a hint: deleted, corrupted, stale or lying, `status`, `inspect`
/// and `enqueue` still count and coalesce right, and `verify` notices the lie. Real binary, real files.
@Suite(.perTestTimeLimit) final class QueueIndexTests {
    let folder = TemporaryFolder()
    let cache: URL
    var index: URL { cache.appendingPathComponent("queue-index.jsonl") }
    var queueFolder: URL { cache.appendingPathComponent("queue") }

    /// The sample cache's own pending writes.
    let base: Int

    init() throws {
        cache = try Stress.seed(withExtraItems: 40, at: folder.path("cache"))
        base = try WriteQueue(paths: CachePaths(root: cache)).pendingEntries().count
    }

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path])
    }

    /// Queues one apply per extra item in `range` (applies never coalesce).
    func enqueueApplies(_ range: Range<Int>) throws {
        let result = try b1cache(["enqueue", "--batch", "-"], input: Stress.applyBatch(range))
        #expect(result.status == 0, "\(result.errorOutput)")
    }

    func b1cache(_ arguments: [String], input: String) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], input: Data(input.utf8))
    }

    /// What status and inspect say is pending, and the files in queue/.
    func counts() throws -> (status: Int?, inspect: Int?, files: Int) {
        let status = try JSONParser.parse(try b1cache(["status", "--json"]).output)["pending"]?.intValue
        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)["pending"]?["count"]?.intValue
        let files = try WriteQueue(paths: CachePaths(root: cache)).pendingEntries().count
        return (status, inspect, files)
    }

    func action(_ item: String, _ verb: String) -> String {
        #"{"kind":"missed-billing.action","payload":{"itemId":"\#(item)","action":"\#(verb)"}}"#
    }

    func verifyKinds(repair: Bool = false) throws -> [String] {
        let result = try b1cache(["verify", "--json"] + (repair ? ["--repair"] : []))
        return result.lines.compactMap { try? JSONParser.parse($0)["kind"]?.stringValue }
    }

    @Test func countsStayRightWhenTheIndexIsDeletedCorruptedOrStale() throws {
        try enqueueApplies(0..<30)
        #expect(FileManager.default.fileExists(atPath: index.path))
        var seen = try counts()
        #expect(seen.status == base + 30 && seen.inspect == base + 30 && seen.files == base + 30, "\(seen)")

        try FileManager.default.removeItem(at: index)
        seen = try counts()
        #expect(seen.status == base + 30 && seen.inspect == base + 30, "deleted: \(seen)")

        try Data("not an index\n[\"x\"]\n".utf8).write(to: index)
        seen = try counts()
        #expect(seen.status == base + 30 && seen.inspect == base + 30, "corrupted: \(seen)")
        #expect(try verifyKinds().contains("staleQueueIndex"))
        #expect(try verifyKinds(repair: true).contains("staleQueueIndex"))
        #expect(try verifyKinds() == [])

        // A file removed by hand moves queue/'s time: the index is stale and ignored.
        let first = try #require(try WriteQueue(paths: CachePaths(root: cache)).pendingEntries().first)
        try FileManager.default.removeItem(at: first.url)
        seen = try counts()
        #expect(
            seen.status == base + 29 && seen.inspect == base + 29 && seen.files == base + 29, "removed by hand: \(seen)"
        )
        #expect(try verifyKinds() == [])  // stale is no problem: readers know it
    }

    @Test func anIndexThatClaimsToBeCurrentButIsNotIsWhatVerifyReportsAndRepairs() throws {
        try enqueueApplies(0..<5)
        // Hand-edit the header's count, keeping queueModified: the one lie status cannot see by itself.
        var lines = try String(contentsOf: index, encoding: .utf8).split(separator: "\n").map(String.init)
        let last = lines.count - 1  // the header is the last line
        lines[last] = lines[last].replacingOccurrences(of: "\"count\":\(base + 5)", with: #""count":99"#)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: index)
        #expect(try counts().status == 99)
        #expect(try verifyKinds() == ["staleQueueIndex"])
        #expect(try verifyKinds(repair: true) == ["staleQueueIndex"])
        let seen = try counts()
        #expect(seen.status == base + 5 && seen.inspect == base + 5, "\(seen)")
        #expect(try verifyKinds() == [])
    }

    @Test func enqueueCoalescesTheSameWithAnIndexWithoutOneAndWithACorruptOne() throws {
        let item = Stress.extraItem(7)
        try enqueueApplies(10..<20)  // other writes around it, described by the index
        var ids: [String] = []
        for (round, verb) in ["mark-reviewed", "ignore", "mark-reviewed", "ignore"].enumerated() {
            if round == 1 { try FileManager.default.removeItem(at: index) }
            if round == 2 {
                // Every line garbled: enqueue must read the files instead.
                let header = try #require(try String(contentsOf: index, encoding: .utf8).split(separator: "\n").last)
                try Data(("[\"garbled\n{\n" + header + "\n").utf8).write(to: index)
            }
            let result = try b1cache(["enqueue", "--batch", "-", "--json"], input: action(item, verb))
            #expect(result.status == 0, "round \(round): \(result.errorOutput)")
            let queued = try JSONParser.parse(result.output)
            if let previous = ids.last {
                #expect(queued["replaced"]?.arrayValue?.compactMap(\.stringValue) == [previous], "round \(round)")
            }
            ids.append(try #require(queued["id"]?.stringValue))
        }
        let pending = try WriteQueue(paths: CachePaths(root: cache)).readablePending()
        #expect(pending.filter { $0.payload["itemId"]?.stringValue == item }.map(\.id) == [try #require(ids.last)])
        #expect(pending.count == base + 11)
        #expect(try counts().status == base + 11)
        #expect(try verifyKinds() == [])
    }

    @Test func anApplyInTheIndexStillRefusesALaterActionOnItsItem() throws {
        try enqueueApplies(3..<4)
        let refused = try b1cache(["enqueue", "--batch", "-"], input: action(Stress.extraItem(3), "ignore"))
        #expect(refused.status == 2, "\(refused.output)\(refused.errorOutput)")
        #expect(refused.errorOutput.contains("applied"), "\(refused.errorOutput)")
        #expect(try counts().files == base + 1)
    }

    @Test func concurrentEnqueuersLeaveAnIndexThatCountsEveryFile() throws {
        let processes = try (0..<4).map { part -> Process in
            let batch = folder.path("batch-\(part).jsonl")
            try Data(Stress.applyBatch((part * 10)..<(part * 10 + 10)).utf8).write(to: batch)
            return try Stress.start(["enqueue", "--batch", batch.path, "--cache-dir", cache.path])
        }
        for process in processes { process.waitForExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let seen = try counts()
        #expect(seen.status == base + 40 && seen.inspect == base + 40 && seen.files == base + 40, "\(seen)")
        #expect(try verifyKinds() == [])
    }

    @Test func dropRewritesTheIndexAndABackupDoesNotCopyIt() throws {
        try enqueueApplies(0..<6)
        let victim = try #require(try WriteQueue(paths: CachePaths(root: cache)).readablePending().last)
        let dropped = try b1cache(["drop", victim.id])
        #expect(dropped.status == 0, "\(dropped.errorOutput)")
        // Written whole after the drop: fresh, and its count is the folder's.
        let header = try #require(try String(contentsOf: index, encoding: .utf8).split(separator: "\n").last)
        #expect(try JSONParser.parse(String(header))["count"]?.intValue == base + 5)
        var seen = try counts()
        #expect(seen.status == base + 5 && seen.inspect == base + 5 && seen.files == base + 5, "\(seen)")

        let destination = folder.path("backup")
        let backup = try b1cache(["backup", destination.path])
        #expect(backup.status == 0, "\(backup.output)\(backup.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: destination.appendingPathComponent("queue-index.jsonl").path))
        let copied = try CommandRunner.b1cache(["status", "--json", "--cache-dir", destination.path])
        #expect(try JSONParser.parse(copied.output)["pending"]?.intValue == base + 5)
        seen = try counts()
        #expect(seen.status == base + 5, "\(seen)")
    }

    @Test func enqueuesDuringAFlushLeaveAnIndexThatCountsEveryFile() throws {
        let server = try ReferenceServer(seed: cache, database: folder.path("server.db"))
        try enqueueApplies(0..<20)
        try server.admin("admin/faults", ["latencyMs": 20])
        let flush = try Stress.start(
            ["flush", "--batch-size", "2", "--cache-dir", cache.path], environment: server.environment())
        for part in 0..<4 {
            let batch = folder.path("during-\(part).jsonl")
            try Data(Stress.applyBatch((20 + part * 5)..<(25 + part * 5)).utf8).write(to: batch)
            let queued = try CommandRunner.b1cache(["enqueue", "--batch", batch.path, "--cache-dir", cache.path])
            #expect(queued.status == 0, "\(queued.errorOutput)")
        }
        flush.waitForExit()
        #expect([0, 3].contains(flush.terminationStatus))
        let seen = try counts()
        #expect(seen.status == seen.files && seen.inspect == seen.files, "\(seen)")
        #expect(try verifyKinds() == [])
        // And a second flush drains what was queued meanwhile, leaving an index of nothing.
        try server.admin("admin/faults", [:])
        let last = try CommandRunner.b1cache(
            ["flush", "--ignore-backoff", "--cache-dir", cache.path], environment: server.environment())
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let after = try counts()
        #expect(after.status == 0 && after.inspect == 0 && after.files == 0, "\(after)")
        let applied = try server.appliedCounts()
        #expect(try enqueuedIds().allSatisfy { applied[$0] == 1 })
    }

    /// Every write id the ledger should hold: those of the history (what the flushes answered).
    func enqueuedIds() throws -> [String] {
        try History(paths: CachePaths(root: cache)).entries().compactMap { $0["id"]?.stringValue }
    }
}
