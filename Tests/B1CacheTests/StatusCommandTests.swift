import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class StatusCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func status(_ arguments: [String] = [], environment: [String: String] = [:]) throws -> CommandResult {
        try CommandRunner.b1cache(["status", "--cache-dir", cache.path] + arguments, environment: environment)
    }

    func statusJSON(_ arguments: [String] = [], environment: [String: String] = [:]) throws -> JSONValue {
        let result = try status(arguments + ["--json"], environment: environment)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.lines.count == 1)
        return try JSONParser.parse(result.output)
    }

    @Test func withTheServerDownItSaysOfflineShowsThePendingWritesAndExits0() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let url = server.url.absoluteString
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        let before = try snapshotFiles(under: cache)
        let result = try status(["--server", url])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.lines.count == 1)
        #expect(result.output.hasPrefix("offline · 3 pending · 1 failed · synced "))
        #expect(result.errorOutput.isEmpty)
        let json = try statusJSON(["--server", url])
        #expect(json["online"] == .bool(false))
        #expect(json["offlineReason"]?.stringValue?.contains("could not be reached") == true)
        #expect(json["pending"]?.intValue == 3 && json["failed"]?.intValue == 1)
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func withTheReferenceServerUpItSaysOnlineWithoutATokenAndWritesNothing() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let before = try snapshotFiles(under: cache)
        // Only the URL: health needs no token, and status must not need one.
        let result = try status(environment: ["B1_SERVER_URL": server.url.absoluteString])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.hasPrefix("online · 3 pending · 1 failed · synced "))
        let json = try statusJSON(environment: ["B1_SERVER_URL": server.url.absoluteString])
        #expect(json["online"] == .bool(true))
        #expect(json["offlineReason"] == .null)
        #expect(json["server"]?.stringValue == server.url.absoluteString)
        #expect(try snapshotFiles(under: cache) == before)
        #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock").path))
    }

    @Test func theJSONHasTheDocumentedFields() throws {
        let json = try statusJSON()
        let keys = Set(json.objectValue?.members.map(\.key) ?? [])
        #expect(
            keys == [
                "root", "exists", "server", "online", "offlineReason", "pending", "failed", "oldestPendingAt",
                "lastSyncAllAt", "stale", "lock", "restoreInterrupted", "problem", "watcher", "itemStates", "storage",
            ])
        #expect(json["root"]?.stringValue == cache.path)
        #expect(json["exists"] == .bool(true))
        #expect(json["server"] == .null && json["online"] == .null)
        #expect(json["oldestPendingAt"] == "2026-11-21T18:24:09Z")
        #expect(
            json["lastSyncAllAt"]
                == .string(try CommandRunner.jq(".lastSyncAllAt", cache.appendingPathComponent("manifest.json"))))
        #expect(json["lock"] == .object(["command": .null, "held": .bool(false), "stale": .bool(false)]))
        #expect(json["restoreInterrupted"] == .bool(false) && json["problem"] == .null)
    }

    @Test func withoutAServerItSaysSoAndExits0() throws {
        let result = try status()
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("no server · 3 pending · 1 failed · "))
    }

    @Test func aServerThatDoesNotAnswerWithinTheTimeoutCountsAsOffline() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        try server.admin("admin/faults", ["latencyMs": 10_000])
        let json = try statusJSON(["--timeout", "0.5s"], environment: server.environment())
        #expect(json["online"] == .bool(false))
        #expect(json["offlineReason"]?.stringValue == "the server did not answer within 0.5 s")
    }

    /// 1 h: every sample collection is stale (synced in 2026); 10 years: only the two synced before the last Sync
    /// All (a rule that holds whatever today's date); 24 h and 30 d: whatever inspect says, on the same rule.
    @Test(arguments: [("1h", 9), ("24h", nil), ("30d", nil), ("3650d", 2)] as [(String, Int?)])
    func staleCollectionsFollowTheRuleOfInspect(staleAfter: String, expected: Int?) throws {
        let json = try statusJSON(["--stale-after", staleAfter])
        let inspect = try CommandRunner.b1cache([
            "inspect", "--json", "--stale-after", staleAfter, "--cache-dir", cache.path,
        ])
        #expect(inspect.status == 0, "\(inspect.errorOutput)")
        // Without every collection listed, an empty stale list on both sides would prove nothing.
        let collections = try #require(try JSONParser.parse(inspect.output)["collections"]?.arrayValue)
        #expect(collections.count == CollectionName.allCases.count)
        let stale = collections.filter { $0["stale"] == .bool(true) }.compactMap { $0["name"] }
        #expect(json["stale"] == .array(stale))
        if let expected { #expect(stale.count == expected, "\(stale)") }
        if staleAfter == "3650d" { #expect(stale == ["subscriptions", "integrations"]) }
    }

    @Test func aCacheFolderThatDoesNotExistYetIsReportedAndNotCreated() throws {
        let missing = folder.path("fresh/billingone")
        let result = try CommandRunner.b1cache(["status", "--cache-dir", missing.path])
        #expect(result.status == 0)
        #expect(result.output == "no server · nothing cached yet\n")
        let json = try JSONParser.parse(
            try CommandRunner.b1cache(["status", "--json", "--cache-dir", missing.path]).output)
        #expect(json["exists"] == .bool(false) && json["pending"]?.intValue == 0)
        #expect(!FileManager.default.fileExists(atPath: folder.path("fresh").path))
    }

    @Test func aCorruptManifestStillShowsThePendingWritesAndExits8() throws {
        try Data("{\"format\": ".utf8).write(to: cache.appendingPathComponent("manifest.json"))
        let result = try status()
        #expect(result.status == 8)
        #expect(result.output.hasPrefix("no server · 3 pending · 1 failed · "))
        #expect(result.output.contains("manifest unreadable"))
        #expect(result.errorOutput.contains("b1cache: error: \(cache.path)/manifest.json is corrupt"))
    }

    @Test func aRunningFlushIsShown() throws {
        let lock = CacheLock(paths: CachePaths(root: cache), command: "flush")
        let json = try lock.withLock(wait: false) { try statusJSON() }
        #expect(json["lock"] == .object(["command": "flush", "held": .bool(true), "stale": .bool(false)]))
    }
}
