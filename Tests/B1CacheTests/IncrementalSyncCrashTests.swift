import B1Cache
import Foundation
import Testing

/// SIGKILL at random moments of an incremental sync of a large collection (the pull that reads the envelope's bytes,
/// merges the changes and streams the file back): the envelope is always the old file or the one an uninterrupted
/// sync writes from the same state, never a mix, and `verify` is clean once the crash's leftovers (the dead
/// process's lock, temp file, a manifest one write behind) are repaired.
@Suite(.perTestTimeLimit) final class IncrementalSyncCrashTests {
    let folder = TemporaryFolder()
    let cache: URL
    let server: ReferenceServer
    /// Invoices held at the start (SampleCache's and the generated ones).
    let seeded: Int
    static let rounds = Stress.count(short: 20, long: 100, override: "B1CACHE_SYNC_KILL_ROUNDS")
    static let invoices = Stress.count(short: 3_000, long: 30_000)

    init() throws {
        let seed = try Repository.copySampleCache(to: folder.path("seed"))
        let store = CacheStore(paths: CachePaths(root: seed))
        var envelope = try #require(try store.envelope(for: .invoices))
        let template = try #require(envelope.items.first?.objectValue)
        for index in 0..<Self.invoices {
            var item = template
            item["id"] = .string(Self.invoice(index))
            item["number"] = .string("N-\(index)")
            envelope.items.append(.object(item))
        }
        try store.replaceEnvelope(envelope)
        seeded = envelope.items.count
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
        cache = folder.path("cache")
        let first = try CommandRunner.b1cache(
            ["sync", "--cache-dir", cache.path], environment: server.environment())
        #expect(first.status == 0, "\(first.output)\(first.errorOutput)")
    }

    static func invoice(_ index: Int) -> String { String(format: "inv_big%05d", index) }

    var envelope: URL { cache.appendingPathComponent("collections/invoices.json") }

    func b1cache(_ arguments: [String], in root: URL) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", root.path], environment: server.environment())
    }

    /// The file without its `syncedAt` line: two syncs of the same state differ only there (the time each started).
    static func withoutSyncTime(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("  \"syncedAt\": ") }.joined(separator: "\n")
    }

    @Test func sigkillOfAnIncrementalSyncLeavesTheOldEnvelopeOrTheNewOne() throws {
        var generator = SystemRandomNumberGenerator()
        var outcomes = (old: 0, new: 0, killedMidway: 0, manifestBehind: 0)
        // Kills are spread over a window after the lock is taken, which narrows when the sync ended before its kill
        // and widens when it did not, so that about half the kills land before the rename and half after.
        var window = 0.3
        for round in 0..<Self.rounds {
            let old = try Data(contentsOf: envelope)
            // Changes on the server: 40 invoices changed, 3 deleted, 2 new ones.
            let base = round * 45
            try server.admin(
                "admin/mutate",
                [
                    "collection": "invoices",
                    "patch": .array(
                        (base..<(base + 40)).map {
                            [
                                "id": .string(Self.invoice($0 % Self.invoices)),
                                "set": ["memo": .string("round \(round)")],
                            ]
                        }),
                    "delete": .array((0..<3).map { .string(Self.invoice((base + 40 + $0) % Self.invoices)) }),
                    "upsert": .array(
                        (0..<2).map { ["id": .string("inv_new\(round)-\($0)"), "number": .string("R\(round)")] }),
                ])
            // The new file: an uninterrupted sync from a copy of the same state.
            let reference = folder.path("reference-\(round)")
            try FileManager.default.copyItem(at: cache, to: reference)

            let process = try Stress.start(
                ["sync", "invoices", "--no-flush", "--wait", "--page-size", "20", "--cache-dir", cache.path],
                environment: server.environment())
            // Killed once it holds the lock (owner.json written): the kill lands in the pull, its read, merge and
            // write. (A kill between the lock's mkdir and its owner.json leaves a lock fresh for 10 s: LockTests.)
            let owner = cache.appendingPathComponent("flush.lock/owner.json").path
            while process.isRunning && !FileManager.default.fileExists(atPath: owner) { usleep(1000) }
            usleep(UInt32.random(in: 0...UInt32(window * 1_000_000), using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            if process.terminationReason == .uncaughtSignal {
                outcomes.killedMidway += 1
                window *= 1.2
            } else {
                window *= 0.7
            }

            let completed = try b1cache(["sync", "invoices", "--no-flush", "--json"], in: reference)
            #expect(completed.status == 0, "\(completed.output)\(completed.errorOutput)")
            // 42 changes and 3 deletions a round, since the last round whose sync wrote the envelope.
            let report = try JSONParser.parse(completed.output)["collections"]?.arrayValue?.first
            let received = report?["received"]?.intValue ?? 0, removed = report?["removed"]?.intValue ?? 0
            #expect(received > 0 && received % 42 == 0 && removed == received / 42 * 3, "\(completed.output)")
            let new = try Data(contentsOf: reference.appendingPathComponent("collections/invoices.json"))
            try FileManager.default.removeItem(at: reference)

            let now = try Data(contentsOf: envelope)
            if now == old {
                outcomes.old += 1
            } else if Self.withoutSyncTime(now) == Self.withoutSyncTime(new) {
                outcomes.new += 1
            } else {
                Issue.record("round \(round): the envelope is neither the old one nor the new one (\(now.count) bytes)")
            }
            // What the crash may leave (its lock, its temp file, the manifest one write behind), and nothing else.
            let verify = try b1cache(["verify", "--json"], in: cache)
            let kinds = Set(verify.lines.compactMap { try? JSONParser.parse($0)["kind"]?.stringValue })
            #expect(kinds.isSubset(of: ["staleLock", "strayTemp", "manifestMismatch"]), "\(verify.output)")
            if kinds.contains("manifestMismatch") { outcomes.manifestBehind += 1 }
            if verify.status != 0 {
                let repair = try b1cache(["verify", "--repair"], in: cache)
                #expect(repair.status == 0, "\(repair.output)\(repair.errorOutput)")
            }
            let clean = try b1cache(["verify"], in: cache)
            #expect(clean.status == 0, "round \(round): \(clean.output)\(clean.errorOutput)")
        }
        #expect(outcomes.old + outcomes.new == Self.rounds)
        let last = try b1cache(["sync", "invoices", "--no-flush", "--wait"], in: cache)
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let cached = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .invoices))
        #expect(cached.items.count == seeded - Self.rounds)  // each round brought 2 new and deleted 3
        if Self.invoices < 5_000 {  // what one request of the helper brings back
            #expect(
                Set(cached.items.map(JSONWriter.compactString))
                    == Set(try server.items("invoices").map(JSONWriter.compactString)))
        }
        Stress.record(
            "crash/incremental-sync",
            "\(Self.rounds) SIGKILLs (\(outcomes.killedMidway) mid-sync) of incremental syncs of "
                + "\(Self.invoices) invoices: \(outcomes.old) left the old envelope, \(outcomes.new) the new one "
                + "(\(outcomes.manifestBehind) with the manifest one write behind), none anything else; "
                + "verify clean after each repair")
    }
}
