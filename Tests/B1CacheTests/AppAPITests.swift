import B1Cache
import Foundation
import Testing

/// The library as the BillingOne app uses it: one `Cache` handle, the public API only (no `@testable`), the live
/// transport against the reference server. Each operation takes the lock itself; the app never names a lock.
@Suite(.perTestTimeLimit) final class AppAPITests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    let client: ServerClient
    lazy var root: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
        client = ServerClient(transport: .live(baseURL: server.url, token: "b1-dev-token"))
    }

    @Test func anAppReadsQueuesFlushesAndSeesTheServersState() async throws {
        let cache = try Cache.open(CachePaths(root: root))
        // An open item no sample write touches (mb_zz3y5z07zw, say, has an apply pending).
        let open = try #require(try cache.items(of: .missedBilling)?.items.first { $0["id"] == "mb_f3rqrj23s7" })
        #expect(open["status"] == "open")
        let itemId = try #require(open["id"]?.stringValue)
        let queued = try cache.enqueue(
            WriteRequest(
                kind: "missed-billing.action",
                payload: [
                    "itemId": .string(itemId), "action": "snooze", "snoozeUntil": "2027-02-01T00:00:00Z",
                ]))
        // The Home tab shows what the user did offline, marked; the envelope itself still holds the server's state.
        let shown = try #require(
            try cache.items(of: .missedBilling, withPending: true)?.items.first { $0["id"] == open["id"] })
        #expect(shown["status"] == "snoozed")
        #expect(shown["_pending"] == [.string(queued.write.id)])
        #expect(try cache.items(of: .missedBilling)?.items.first { $0["id"] == open["id"] }?["status"] == "open")
        // The SyncIndicator: four pending (the sample's three and this one), one failed.
        #expect(try cache.status().pending == 4)
        #expect(try cache.flushPlan().writes.count == 4)
        let report = try await cache.flush(client: client)
        #expect(report.isComplete)
        #expect(try server.appliedCounts()[queued.write.id] == 1)
        #expect(try cache.status().pending == 0)
        #expect(try cache.items(of: .missedBilling)?.items.first { $0["id"] == open["id"] }?["status"] == "snoozed")
        let synced = try await cache.sync(client: client)
        #expect(synced.pulledEverything)
        #expect(try cache.verify().isEmpty)
        #expect(try cache.history().entries.count == 4)
    }

    @Test func anOperationThatNeedsTheLockFailsOrWaitsAsAsked() throws {
        let cache = try Cache.open(CachePaths(root: root))
        let holder = CacheLock(paths: cache.paths, command: "flush")
        try holder.withLock(wait: false) {
            #expect(throws: LockError.self) { try cache.backup(to: self.folder.path("backup"), busy: .fail) }
        }
        // Free again: the same call goes through, and the copy is a cache that verifies.
        let backup = try cache.backup(to: folder.path("backup"))
        #expect(backup.problems.isEmpty)
        let copy = try Cache.open(CachePaths(root: folder.path("backup")))
        #expect(try copy.verify().isEmpty)
        #expect(try copy.status().pending == 3)
    }

    @Test func signOutExportsAndAFreshCacheOfTheSameAccountTakesTheWritesBack() async throws {
        let cache = try Cache.open(CachePaths(root: root))
        let export = folder.path("pending.jsonl")
        let result = try cache.signOut(export: SignOut.Export(file: export))
        #expect(result.removed && result.exported == 4)
        let fresh = try Cache.open(CachePaths(root: folder.path("fresh")))
        let batch = try WriteBatch.parse(Data(contentsOf: export))
        #expect(batch.account?.orgId == "org_7f3k2m9q")
        try fresh.enqueue(batch.requests.map(\.request))
        #expect(try fresh.writes().compactMap(\.write).allSatisfy { $0.account?.orgId == "org_7f3k2m9q" })
        let other = ServerClient(transport: .live(baseURL: server.url, token: "b1-other-token"))
        await #expect(throws: ServerError.self) { try await fresh.flush(client: other) }
        #expect(try server.appliedCounts().isEmpty)
    }
}
