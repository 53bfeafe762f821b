import B1Cache
import Foundation
import Testing

/// SIGKILL of `sync` (which flushes first) at random moments, against the reference server with latency and
/// small pages, while the server's data keeps changing: every file stays parseable, every write is applied once
/// or still queued, and the next complete sync converges on the server's data.
@Suite(.perTestTimeLimit) final class SyncCrashTests {
    let folder = TemporaryFolder()
    let cache: URL
    let server: ReferenceServer
    static let rounds = Stress.count(short: 10, long: 100, override: "B1CACHE_SYNC_KILL_ROUNDS")

    init() throws {
        let seed = try Stress.seed(withExtraItems: Self.rounds * 2, at: folder.path("seed"))
        cache = folder.path("cache")
        try FileManager.default.copyItem(at: seed, to: cache)
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: server.environment())
    }

    @Test func sigkillOfSyncAtRandomMomentsLosesNothingAndTheNextSyncConverges() throws {
        var generator = SystemRandomNumberGenerator()
        var enqueued: [String] = []
        var killedMidway = 0
        try server.admin("admin/faults", ["latencyMs": 15])
        for round in 0..<Self.rounds {
            // Two new writes and a change made elsewhere each round, so every sync has work on both sides.
            let batch = folder.path("batch.jsonl")
            try Data(Stress.applyBatch((round * 2)..<(round * 2 + 2)).utf8).write(to: batch)
            let queued = try b1cache(["enqueue", "--batch", batch.path, "--json"])
            #expect(queued.status == 0, "\(queued.errorOutput)")
            enqueued += try queued.lines.compactMap { try JSONParser.parse($0)["id"]?.stringValue }
            try server.admin(
                "admin/mutate",
                [
                    "collection": "clients",
                    "upsert": [["id": .string("cl_round\(round)"), "name": .string("Round \(round) Ltd")]],
                    "delete": round > 0 ? [.string("cl_round\(round - 1)")] : [],
                ])
            let process = try Stress.start(
                ["sync", "--page-size", "5", "--cache-dir", cache.path], environment: server.environment())
            usleep(UInt32.random(in: 10_000...400_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            if process.terminationReason == .uncaughtSignal { killedMidway += 1 }
            #expect(try Stress.unparsable(cache).isEmpty, "round \(round)")
            let applied = try server.appliedCounts()
            let queuedNow = try Stress.queuedIds(cache)
            for id in enqueued {
                #expect((applied[id] ?? 0) <= 1, "\(id) applied \(applied[id] ?? 0) times")
                #expect(
                    applied[id] == 1 || queuedNow.pending.contains(id),
                    "round \(round): \(id) neither applied nor queued")
            }
        }
        try server.admin("admin/faults", [:])
        let last = try b1cache(["sync", "--wait"])
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let applied = try server.appliedCounts()
        for id in enqueued { #expect(applied[id] == 1, "\(id) applied \(applied[id] ?? 0) times") }
        #expect(try Stress.queuedIds(cache).pending.isEmpty)
        for collection in CollectionName.allCases {
            let cached = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: collection))
            #expect(
                Set(cached.items.map(JSONWriter.compactString))
                    == Set(try server.items(collection.rawValue).map(JSONWriter.compactString)),
                "\(collection) differs from the server after the last sync")
        }
        let verify = try b1cache(["verify"])
        #expect(verify.status == 0, "\(verify.output)")
        let once = enqueued.filter { applied[$0] == 1 }.count
        Stress.record(
            "crash/sync",
            "\(Self.rounds) SIGKILLs (\(killedMidway) mid-sync) with 15 ms latency and 5-item pages; "
                + "\(once) of \(enqueued.count) writes applied exactly once; the next sync equals the server's 9 collections"
        )
    }
}
