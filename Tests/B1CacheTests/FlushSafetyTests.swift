import B1Cache
import Foundation
import Testing

/// Flush one step outside the paths the other suites take: a server without the batch endpoint, a write re-sent
/// after a failure, and an envelope that cannot be written after the server applied the writes.
@Suite(.perTestTimeLimit) final class FlushSafetyTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")
    lazy var queue = WriteQueue(paths: CachePaths(root: cache))
    let server: ReferenceServer

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String], fileSizeLimit: Int? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(
            arguments + ["--cache-dir", cache.path], environment: server.environment(),
            fileSizeLimit: fileSizeLimit)
    }

    func pendingIds() throws -> [String] { try queue.readablePending().map(\.id) }

    func ledgerIds() throws -> [String] { try server.ledger().compactMap { $0["id"]?.stringValue } }

    @Test func withoutTheBatchEndpointATransientFailureOfTheFirstWriteStopsTheFlush() throws {
        let before = try queue.readablePending()
        let ids = before.map(\.id)
        #expect(ids.count == 3)
        try server.admin("admin/faults", ["noBatch": true, "failIds": [.string(ids[0])]])
        let stopped = try b1cache(["flush"])
        #expect(stopped.status == 3, "\(stopped.output)\(stopped.errorOutput)")
        // Nothing after the failed write was sent, so nothing overtook it.
        #expect(try ledgerIds() == [ids[0]])
        #expect(try server.appliedCounts()[ids[0]] == 0)
        let after = try queue.readablePending()
        #expect(after.map(\.id) == ids)
        #expect(after.first?.attempts == before[0].attempts + 1)
        #expect(after.dropFirst().map(\.attempts) == before.dropFirst().map(\.attempts))
        // Still without batches, the next flush sends them one by one, in queue order, each applied once.
        let flushed = try b1cache(["flush", "--ignore-backoff"])
        #expect(flushed.status == 0, "\(flushed.output)\(flushed.errorOutput)")
        #expect(try ledgerIds() == ids)
        let applied = try server.appliedCounts()
        for id in ids {
            #expect(applied[id] == 1, "\(id)")
            #expect(try server.requestKeys(of: id).allSatisfy { $0.endpoint == "/v1/writes" })
        }
        #expect(try pendingIds().isEmpty)
    }

    @Test func aWriteResentAfterAFailureCarriesTheKeyOfItsFirstAttempt() throws {
        let ids = try pendingIds()
        // First attempt one by one (503), the second in a batch, a third after an answer lost on the way back.
        try server.admin("admin/faults", ["noBatch": true, "failIds": [.string(ids[0])]])
        #expect(try b1cache(["flush"]).status == 3)
        try server.admin("admin/faults", ["dropAfterApply": 1, "path": "/v1/writes:batch"])
        #expect(try b1cache(["flush", "--ignore-backoff"]).status == 3)
        try server.admin("admin/faults", [:])
        #expect(try b1cache(["flush", "--ignore-backoff"]).status == 0)
        let keys = try server.requestKeys(of: ids[0])
        #expect(keys.map(\.endpoint) == ["/v1/writes", "/v1/writes:batch", "/v1/writes:batch"])
        #expect(keys.map(\.key) == [ids[0], ids[0], ids[0]])
        for id in ids.dropFirst() { #expect(try server.requestKeys(of: id).map(\.key) == [id, id]) }
        #expect(try server.appliedCounts().values.sorted() == [1, 1, 1])
    }

    @Test func aFlushWhoseEnvelopeCannotBeWrittenFailsKeepsEveryWriteAndTheNextOneCatchesUp() throws {
        let ids = try pendingIds()
        let envelope = cache.appendingPathComponent("collections/missed-billing.json")
        let before = try Data(contentsOf: envelope)
        // Files past 8 KiB cannot be written: the lock owner, manifest and history can, the 16 KB envelope cannot.
        let limit = 8192
        #expect(before.count > limit)
        #expect(try Data(contentsOf: cache.appendingPathComponent("manifest.json")).count < limit / 2)
        let failed = try b1cache(["flush"], fileSizeLimit: limit)
        #expect(failed.status == 1, "\(failed.output)\(failed.errorOutput)")
        #expect(failed.errorOutput.contains(envelope.path), "\(failed.errorOutput)")
        // The server applied them, but the cache does not show it yet: every write stays queued, so the next
        // flush re-sends it and writes what the server answers.
        #expect(try server.appliedCounts().values.sorted() == [1, 1, 1])
        #expect(try pendingIds() == ids)
        #expect(try Data(contentsOf: envelope) == before)
        let verify = try b1cache(["verify"])
        #expect(verify.status == 0, "\(verify.output)\(verify.errorOutput)")
        let flushed = try b1cache(["flush"])
        #expect(flushed.status == 0, "\(flushed.output)\(flushed.errorOutput)")
        #expect(try pendingIds().isEmpty)
        #expect(try server.appliedCounts().values.sorted() == [1, 1, 1])
        let cached = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .missedBilling))
        #expect(
            Set(cached.items.map(JSONWriter.compactString))
                == Set(try server.items("missed-billing").map(JSONWriter.compactString)))
    }
}
