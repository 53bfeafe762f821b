import B1Cache
import Foundation
import Testing

/// `b1cache sync` against the reference server: full and incremental pulls, tombstones, an expired cursor,
/// one account per cache, failures that leave the cache as it was.
@Suite(.perTestTimeLimit) final class SyncCommandTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    lazy var cache = folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String], token: String = "b1-dev-token", server url: String? = nil) throws
        -> CommandResult
    {
        var environment = server.environment(token: token)
        if let url { environment["B1_SERVER_URL"] = url }
        return try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment)
    }

    func envelope(_ collection: CollectionName) throws -> Envelope {
        try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: collection))
    }

    /// Items by id, each as its compact JSON text.
    func itemTexts(_ items: [JSONValue]) -> [String: String] {
        var texts: [String: String] = [:]
        for item in items { if let id = item["id"]?.stringValue { texts[id] = JSONWriter.compactString(item) } }
        return texts
    }

    @Test func aFirstSyncFillsAnEmptyRootWithEveryCollectionAsTheServerHoldsIt() throws {
        let result = try b1cache(["sync"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        let manifest = try CacheStore(paths: CachePaths(root: cache)).manifest()
        #expect(manifest.account?.orgId == "org_7f3k2m9q")
        let lastSyncAll = try #require(manifest.lastSyncAllAt)
        for collection in CollectionName.allCases {
            let cached = try envelope(collection)
            #expect(itemTexts(cached.items) == itemTexts(try server.items(collection.rawValue)), "\(collection)")
            #expect(manifest.collections[collection]?.count == cached.items.count)
            #expect(cached.complete == collection.isComplete)
            #expect(cached.cursor?.hasPrefix("c:") == true)
            #expect(
                !manifest.isStale(collection),
                "\(collection) synced at \(String(describing: cached.syncedAt)), Sync All \(lastSyncAll)")
        }
        #expect(try b1cache(["verify"]).status == 0)
        for (name, data) in try snapshotFiles(under: cache) {
            #expect(
                !String(decoding: data, as: UTF8.self).contains("b1-dev-token"), "the token was written into \(name)")
        }
    }

    @Test func aSecondSyncSendsTheCursorAndMergesOnlyWhatChanged() throws {
        #expect(try b1cache(["sync", "--page-size", "7"]).status == 0)
        let before = try envelope(.contracts)
        let otherFiles = try snapshotFiles(under: cache.appendingPathComponent("collections"))
        let changed = try #require(before.items[3]["id"]?.stringValue)
        let deleted = try #require(before.items[5]["id"]?.stringValue)
        let added: JSONValue = ["id": "ct_newfromweb01", "status": "draft", "lines": .array([])]
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts", "patch": [["id": .string(changed), "set": ["status": "expired"]]],
                "delete": [.string(deleted)], "upsert": [added],
            ])
        let result = try b1cache(["sync", "--json"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        let report = try JSONParser.parse(result.output)
        let contracts = try #require(report["collections"]?.arrayValue?.first { $0["collection"] == "contracts" })
        #expect(contracts["mode"] == "incremental")
        #expect(contracts["received"]?.intValue == 2 && contracts["removed"]?.intValue == 1)
        let cursor = try #require(before.cursor)
        #expect(try server.recentRequests().contains { $0.hasPrefix("/v1/collections/contracts?since=\(cursor)&") })
        let after = try envelope(.contracts)
        #expect(after.revision == before.revision + 1)
        var expected = itemTexts(before.items)
        expected[deleted] = nil
        let afterTexts = itemTexts(after.items)
        #expect(afterTexts[changed]?.contains("\"status\":\"expired\"") == true)
        #expect(afterTexts["ct_newfromweb01"] != nil)
        expected[changed] = afterTexts[changed]
        expected["ct_newfromweb01"] = afterTexts["ct_newfromweb01"]
        #expect(afterTexts == expected)  // every other item byte for byte as it was
        #expect(
            after.items.map { $0["id"]?.stringValue }.prefix(3) == before.items.map { $0["id"]?.stringValue }.prefix(3))
        // The other collections' items did not change (their files are rewritten with a new revision and time).
        for (name, data) in otherFiles where name != "contracts.json" {
            let collection = try #require(CollectionName(rawValue: String(name.dropLast(5))))
            let old = try Envelope.decode(data, path: name)
            #expect(itemTexts(try envelope(collection).items) == itemTexts(old.items), "\(name)")
        }
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func syncFlushesTheSampleQueueFirstThenPullsTheServersNewState() throws {
        cache = try Repository.copySampleCache(to: folder.path("sample"))
        let ids = try WriteQueue(paths: CachePaths(root: cache)).readablePending().map(\.id)
        let result = try b1cache(["sync"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        #expect(try WriteQueue(paths: CachePaths(root: cache)).readablePending().isEmpty)
        for id in ids { #expect(try server.appliedCounts()[id] == 1) }
        let item = try JSONParser.parse(try b1cache(["show", "missed-billing", "--id", Sample.snoozedByQueue]).output)
        #expect(item["status"] == "snoozed")
        // The sample's cursors were issued by the seeded server, so this was incremental, not a full download.
        #expect(try server.recentRequests().contains { $0.hasPrefix("/v1/collections/invoices?since=") })
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func anExpiredCursorFallsBackToAFullPull() throws {
        #expect(try b1cache(["sync"]).status == 0)
        var invoices = try envelope(.invoices)
        invoices.cursor = "c:99999999"  // ahead of the server: as after a server reset
        try CacheStore(paths: CachePaths(root: cache)).replaceEnvelope(invoices)
        let result = try b1cache(["sync", "invoices", "--json"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        #expect(
            try JSONParser.parse(result.output)["collections"]?.arrayValue?.first?["mode"]
                == "full-after-expired-cursor")
        #expect(itemTexts(try envelope(.invoices).items) == itemTexts(try server.items("invoices")))
        #expect(try envelope(.invoices).cursor != "c:99999999")
    }

    @Test func anotherAccountsTokenIsRefusedAndNothingIsWritten() throws {
        #expect(try b1cache(["sync"]).status == 0)
        let before = try snapshotFiles(under: cache)
        let result = try b1cache(["sync"], token: "b1-other-token")
        #expect(result.status == 5)
        #expect(
            result.errorOutput.contains("dana.whitfield@northwind-msp.co.nz") && result.errorOutput.contains("sign-out")
        )
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func offlineExits4AndAFailingCollectionLeavesItsFileAsItWas() throws {
        #expect(try b1cache(["sync"]).status == 0)
        let before = try snapshotFiles(under: cache)
        let offline = try b1cache(["sync"], server: "http://127.0.0.1:9")
        #expect(offline.status == 4, "\(offline.errorOutput)")
        #expect(try snapshotFiles(under: cache) == before)

        let lastSyncAll = try CacheStore(paths: CachePaths(root: cache)).manifest().lastSyncAllAt
        try server.admin(
            "admin/mutate",
            [
                "collection": "invoices",
                "patch": [
                    [
                        "id": .string(try #require(envelope(.invoices).items[0]["id"]?.stringValue)),
                        "set": ["status": "PAID"],
                    ]
                ],
            ])
        try server.admin("admin/faults", ["status": 503, "count": 1, "path": "/v1/collections/invoices"])
        let partial = try b1cache(["sync"])
        #expect(partial.status == 1)
        #expect(partial.errorOutput.contains("invoices was not synced"))
        #expect(try snapshotFiles(under: cache)["collections/invoices.json"] == before["collections/invoices.json"])
        // The others were pulled: clients, unchanged on the server, is recorded in the manifest, its file untouched.
        #expect(try CacheStore(paths: CachePaths(root: cache)).manifest().collections[.clients]?.confirmedAt != nil)
        #expect(try snapshotFiles(under: cache)["collections/clients.json"] == before["collections/clients.json"])
        #expect(try CacheStore(paths: CachePaths(root: cache)).manifest().lastSyncAllAt == lastSyncAll)
        #expect(try b1cache(["sync", "nonsense"]).status == 2)
    }
}
