import B1Cache
import Foundation
import Testing

/// Flush's checkpoints (docs/ARCHITECTURE.md, "How flush commits what the server answered"): the envelope is
/// rewritten a bounded number of times however many batches a flush sends, yet every write's answer lands in the
/// cache before its file goes, and each write is applied once by the server's ledger. Real binary, real files, the
/// reference server.
@Suite(.perTestTimeLimit) final class FlushCheckpointTests {
    let folder = TemporaryFolder()
    let cache: URL
    let server: ReferenceServer
    /// The extra missed-billing items of the seed: one write each.
    static let writes = 1000
    var store: CacheStore { CacheStore(paths: CachePaths(root: cache)) }

    init() throws {
        let seed = try Stress.seed(withExtraItems: Self.writes, at: folder.path("seed"))
        cache = folder.path("cache")
        try FileManager.default.copyItem(at: seed, to: cache)
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
    }

    func enqueueAll() throws -> [String] {
        let batch = folder.path("batch.jsonl")
        try Data(Stress.applyBatch(0..<Self.writes).utf8).write(to: batch)
        let result = try CommandRunner.b1cache(["enqueue", "--batch", batch.path, "--json", "--cache-dir", cache.path])
        #expect(result.status == 0, "\(result.errorOutput)")
        return try result.lines.map { try JSONParser.parse($0)["id"]?.stringValue ?? "" }
    }

    func revision() throws -> Int { try store.manifest().collections[.missedBilling]?.revision ?? 0 }

    /// Extra items whose write left the queue but whose cached state is not the server's (`Stress`).
    func answeredButNotCached(_ ids: [String]) throws -> [String] {
        try Stress.answeredButNotCached(ids, cache: cache, server: server)
    }

    @Test func aFlushOfTenBatchesRewritesTheEnvelopeAFewTimesAndEveryAnswerLands() throws {
        let ids = try enqueueAll()
        let all = try Stress.queuedIds(cache).pending  // with the sample cache's own pending writes
        let items = try #require(try store.envelope(for: .missedBilling)).items.count
        let before = try revision()
        let flush = try CommandRunner.b1cache(
            ["flush", "--json", "--cache-dir", cache.path], environment: server.environment())
        #expect(flush.status == 0, "\(flush.output)\(flush.errorOutput)")
        let summary = try JSONParser.parse(flush.output)
        #expect(summary["applied"]?.intValue == all.count)
        #expect(summary["requests"]?.intValue == (all.count + 99) / 100)
        // One rewrite per batch would be 10; a checkpoint comes once the waiting writes are a quarter of the items.
        let rewrites = try revision() - before
        let bound = (Self.writes * 4 + items - 1) / items + 1
        #expect(rewrites >= 1 && rewrites <= bound, "\(rewrites) rewrites of \(items) items for \(Self.writes) writes")
        #expect(rewrites < Self.writes / 100)
        #expect(try answeredButNotCached(ids) == [])
        #expect(try WriteQueue(paths: CachePaths(root: cache)).pendingEntries().isEmpty)
        let applied = try server.appliedCounts()
        #expect(all.allSatisfy { applied[$0] == 1 }, "\(all.filter { applied[$0] != 1 })")
        let verify = try CommandRunner.b1cache(["verify", "--cache-dir", cache.path])
        #expect(verify.status == 0, "\(verify.output)")
        // The history's newest lines, one per write, applied (or duplicate: the sample cache's own were seeded).
        let history = try History(paths: CachePaths(root: cache)).entries()
        let historyIds = Set(history.compactMap { $0["id"]?.stringValue })
        #expect(historyIds.isSubset(of: all) && historyIds.count == min(all.count, History.limit))
        #expect(history.allSatisfy { ["applied", "duplicate"].contains($0["result"]?.stringValue ?? "") })
    }

    @Test func sigkillRightAfterACheckpointOrBetweenTwoNeverLosesOrDoublesAWrite() throws {
        let ids = try enqueueAll()
        try server.admin("admin/faults", ["latencyMs": 10])
        var killedAfterCheckpoint = 0
        for round in 0..<6 {
            let before = try revision()
            let process = try Stress.start(
                ["flush", "--ignore-backoff", "--batch-size", "20", "--cache-dir", cache.path],
                environment: server.environment())
            if round % 2 == 0 {
                // Right after a checkpoint's envelope is renamed in: its write files may still be queued.
                let deadline = Date().addingTimeInterval(20)
                while process.isRunning, try revision() == before, Date() < deadline { usleep(500) }
                if try revision() > before { killedAfterCheckpoint += 1 }
            } else {
                usleep(UInt32.random(in: 30_000...200_000))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            #expect(try Stress.unparsable(cache).isEmpty, "round \(round)")
            #expect(try answeredButNotCached(ids) == [], "round \(round)")
        }
        #expect(killedAfterCheckpoint > 0)
        try server.admin("admin/faults", [:])
        let last = try CommandRunner.b1cache(
            ["flush", "--ignore-backoff", "--wait", "--cache-dir", cache.path], environment: server.environment())
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let applied = try server.appliedCounts()
        #expect(ids.allSatisfy { applied[$0] == 1 }, "\(ids.filter { applied[$0] != 1 })")
        #expect(try answeredButNotCached(ids) == [])
        #expect(try WriteQueue(paths: CachePaths(root: cache)).pendingEntries().isEmpty)
    }
}
