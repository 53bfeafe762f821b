import B1Cache
import Foundation
import Testing

/// `b1cache watch`, as a real process beside the reference server: flush on reconnect and on enqueue, realtime pulls,
/// the feed re-established, one watcher per cache, signals, 401 and a new token, SIGKILL. Generous timeouts, no
/// timing assertions: each wait is for an outcome on disk or in the server's ledger.
@Suite final class WatchTests {
    let folder = TemporaryFolder()
    let cache: URL
    let paths: CachePaths
    let server: ReferenceServer
    let tokenFile: URL

    init() throws {
        cache = try Repository.copySampleCache(to: folder.path("cache"))
        paths = CachePaths(root: cache)
        server = try ReferenceServer(database: folder.path("server.db"))
        tokenFile = folder.path("token")
        try Data("b1-dev-token\n".utf8).write(to: tokenFile)
    }

    /// A watcher on this cache (token from `tokenFile`, backoff capped at 2 s so reconnections come quickly).
    func watch(_ extra: [String] = []) throws -> WatchProcess {
        try WatchProcess(
            [
                "--cache-dir", cache.path, "--server", server.url.absoluteString, "--token-file",
                tokenFile.path, "--max-backoff", "2s",
            ] + extra, environment: [:])
    }

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(
            arguments + ["--cache-dir", cache.path], environment: server.environment(),
            timeout: 120)
    }

    func pending() throws -> [String] { try WriteQueue(paths: paths).readablePending().map(\.id) }

    /// Queues a mark-reviewed of an open missed-billing item and returns the write's id.
    func enqueueReview(_ item: String) throws -> String { try Self.enqueueReview(item, cache: cache) }

    static func enqueueReview(_ item: String, cache: URL) throws -> String {
        let result = try CommandRunner.b1cache(
            [
                "enqueue", "missed-billing.action", "--json", "--cache-dir", cache.path,
                "--payload", #"{"itemId":"\#(item)","action":"mark-reviewed"}"#,
            ],
            timeout: 120)
        #expect(result.status == 0, "\(result.errorOutput)")
        return try JSONParser.parse(Data(result.lines.first?.utf8 ?? "".utf8))["id"]?.stringValue ?? ""
    }

    /// Open missed-billing items the sample queue does not touch.
    func openItems() throws -> [String] {
        let envelope = try JSONParser.parse(Data(contentsOf: paths.envelope(for: .missedBilling)))
        let used = Set([Sample.snoozedByQueue] + Sample.appliedByQueue)
        return (envelope["items"]?.arrayValue ?? []).compactMap { item in
            guard item["status"]?.stringValue == "open", let id = item["id"]?.stringValue, !used.contains(id) else {
                return nil
            }
            return id
        }
    }

    func cachedItem(_ collection: CollectionName, _ id: String) throws -> JSONValue? {
        let envelope = try JSONParser.parse(Data(contentsOf: paths.envelope(for: collection)))
        return envelope["items"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    func waitOnline(_ watcher: WatchProcess, feed: String? = "stream") -> Bool {
        Wait.until(timeout: 60) {
            guard let state = WatchState.load(paths), state.online else { return false }
            return feed == nil || state.feed == feed
        }
    }

    @Test func writesQueuedWhileTheServerIsAwayAreAppliedOnceWhenItReturnsWithNoCommand() throws {
        let watcher = try watch()
        #expect(waitOnline(watcher), "\(watcher.output)")
        #expect(Wait.until { try pending().isEmpty }, "the sample queue is flushed at start: \(watcher.output)")
        // Away as a stopped server is (connections refused); the server comes back by itself.
        try server.admin("admin/offline", ["seconds": 8, "mode": "refuse"])
        let ids = try openItems().prefix(3).map { try enqueueReview($0) }
        #expect(ids.count == 3)
        #expect(Wait.until(timeout: 90) { try pending().isEmpty }, "\(watcher.output)")
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id): \(watcher.output)") }
        #expect(watcher.output.contains("offline: retry in"))
        #expect(watcher.output.contains("flushed"))
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
    }

    @Test func aWebChangeReachesTheCacheAndOneMadeWhileTheStreamWasDownArrivesAfterReconnect() throws {
        // Heartbeats every 200 ms, so a stalled stream is judged dead after 0.4 s of silence.
        try server.admin("admin/faults", ["eventsHeartbeatMs": 200])
        let watcher = try watch()
        #expect(waitOnline(watcher), "\(watcher.output)")
        let contract = try #require(
            try JSONParser.parse(Data(contentsOf: paths.envelope(for: .contracts)))["items"]?
                .arrayValue?.first?["id"]?.stringValue)
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(contract), "set": ["note": "first"]]],
            ])
        #expect(Wait.until { try cachedItem(.contracts, contract)?["note"] == "first" }, "\(watcher.output)")
        // The stream goes silent (no event, no heartbeat), and so does every new one until the switch is cleared.
        try server.admin("admin/faults", ["eventsHeartbeatMs": 200, "eventsStall": true])
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(contract), "set": ["note": "while stalled"]]],
            ])
        #expect(watcher.waitForLine(containing: "change feed lost"), "\(watcher.output)")
        // Then every stream is dropped after its first event.
        try server.admin("admin/faults", ["eventsHeartbeatMs": 200, "eventsDropAfter": 1])
        #expect(Wait.until { try cachedItem(.contracts, contract)?["note"] == "while stalled" }, "\(watcher.output)")
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(contract), "set": ["note": "after drops"]]],
            ])
        #expect(Wait.until { try cachedItem(.contracts, contract)?["note"] == "after drops" }, "\(watcher.output)")
        watcher.signal(SIGINT)
        #expect(watcher.waitForExit() == 0)
    }

    @Test func oneWatcherPerCacheFlushWorksBesideItAndSIGTERMReleasesEverything() throws {
        let first = try watch()
        #expect(waitOnline(first), "\(first.output)")
        let second = try watch()
        #expect(second.waitForExit() == 6)
        #expect(
            second.output.contains("another watcher is running on this cache (pid \(first.pid)"),
            "\(second.output)")
        // The watcher holds the lock only while it flushes or pulls: flush may wait, never fails for it.
        _ = try enqueueReview(try openItems()[0])
        let flush = try b1cache(["flush", "--wait"])
        #expect(flush.status == 0, "\(flush.errorOutput)")
        #expect(try b1cache(["backup", folder.path("backup").path, "--wait"]).status == 0)
        let status = try JSONParser.parse(try b1cache(["status", "--json"]).output)
        #expect(status["watcher"]?["running"] == true)
        #expect(status["watcher"]?["pid"]?.intValue == Int(first.pid))
        first.signal(SIGTERM)
        #expect(first.waitForExit(timeout: 20) == 0, "\(first.output)")
        #expect(!FileManager.default.fileExists(atPath: paths.lock.path))
        #expect(WatchState.load(paths)?.state == "stopped")
        #expect(try JSONParser.parse(try b1cache(["status", "--json"]).output)["watcher"]?["running"] == false)
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func a401KeepsEveryWriteAndANewTokenFileResumes() throws {
        try Data("an-expired-token\n".utf8).write(to: tokenFile)
        let queued = try pending()
        let failedBefore = try WriteQueue(paths: paths).list(.failed).count
        let watcher = try watch()
        #expect(watcher.waitForLine(containing: "session expired: sign in again"), "\(watcher.output)")
        #expect(try pending() == queued)
        #expect(try WriteQueue(paths: paths).list(.failed).count == failedBefore)
        #expect(Wait.until { WatchState.load(paths)?.sessionExpired == true })
        try Data("b1-dev-token\n".utf8).write(to: tokenFile)
        #expect(Wait.until { try pending().isEmpty }, "\(watcher.output)")
        let applied = try server.appliedCounts()
        for id in queued { #expect(applied[id] == 1) }
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
    }

    /// The session ends while the watcher is online: the server stops accepting its token (the account's token is
    /// changed in the server's database, as a revoked session), a write enqueued then meets a real 401.
    @Test func aSessionRevokedMidWatchKeepsTheWriteAndTheNewTokenResumes() throws {
        let watcher = try watch()
        #expect(waitOnline(watcher), "\(watcher.output)")
        #expect(Wait.until { try pending().isEmpty }, "the sample queue is flushed at start: \(watcher.output)")
        let failedBefore = try WriteQueue(paths: paths).list(.failed).count
        let rotate = try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c",
                "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], timeout=30); "
                    + "n = db.execute(\"UPDATE accounts SET token='b1-new-token' WHERE token='b1-dev-token'\")"
                    + ".rowcount; db.commit(); sys.exit(0 if n == 1 else 1)",
                server.database.path,
            ], environment: [:], timeout: 60)
        #expect(rotate.status == 0, "\(rotate.errorOutput)")
        let id = try enqueueReview(try openItems()[0])
        #expect(watcher.waitForLine(containing: "session expired: sign in again"), "\(watcher.output)")
        #expect(Wait.until { WatchState.load(paths)?.sessionExpired == true })
        #expect(try pending() == [id])
        #expect(try WriteQueue(paths: paths).list(.failed).count == failedBefore)
        #expect(try server.appliedCounts()[id] == nil)
        try Data("b1-new-token\n".utf8).write(to: tokenFile)
        #expect(Wait.until { try pending().isEmpty }, "\(watcher.output)")
        #expect(try server.appliedCounts()[id] == 1)
        // watch.json is written once the loop has finished the flush and its pull, a moment after the queue emptied.
        #expect(Wait.until { WatchState.load(paths)?.sessionExpired == false }, "\(watcher.output)")
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
    }

    @Test func anotherAccountsTokenExits5() throws {
        try Data("b1-other-token\n".utf8).write(to: tokenFile)
        let watcher = try watch()
        #expect(watcher.waitForExit(timeout: 60) == 5, "\(watcher.output)")
        #expect(try pending().count == 3)
        #expect(WatchState.load(paths)?.state == "stopped")
    }

    @Test func aWatcherKilledMidFlushIsReplacedAndEveryWriteIsAppliedOnce() throws {
        let queued = try pending()
        try server.admin("admin/faults", ["latencyMs": 1500, "path": "/v1/writes"])
        let first = try watch()
        #expect(first.waitForLine(containing: "online"), "\(first.output)")
        usleep(700_000)  // inside the slow batch request, or close to it: either way the new watcher must cope
        first.signal(SIGKILL)
        _ = first.waitForExit()
        #expect(try JSONParser.parse(try b1cache(["status", "--json"]).output)["watcher"]?["running"] == false)
        try server.admin("admin/faults", [:])
        let second = try watch()
        #expect(Wait.until { try pending().isEmpty }, "\(second.output)")
        let applied = try server.appliedCounts()
        for id in queued { #expect(applied[id] == 1, "\(id)") }
        #expect(
            try JSONParser.parse(try b1cache(["status", "--json"]).output)["watcher"]?["pid"]?.intValue
                == Int(second.pid))
        second.signal(SIGTERM)
        #expect(second.waitForExit() == 0)
    }

    @Test func aSignOutWhileWatchingStopsTheWatcherInsteadOfFillingANewFolder() throws {
        let watcher = try watch()
        #expect(waitOnline(watcher), "\(watcher.output)")
        let signOut = try b1cache(["sign-out", "--force", "--wait"])
        #expect(signOut.status == 0, "\(signOut.errorOutput)")
        #expect(watcher.waitForExit(timeout: 60) == 1, "\(watcher.output)")
        #expect(watcher.output.contains("was signed out, restored or removed"))
        try server.admin("admin/mutate", ["collection": "contracts", "upsert": [["id": "ct_after_sign_out"]]])
        usleep(1_500_000)
        #expect(!FileManager.default.fileExists(atPath: cache.path))
    }

    @Test func aServerWithoutAFeedIsPolled() throws {
        try server.admin("admin/faults", ["eventsStatus": 404])
        let watcher = try watch(["--poll-interval", "1s"])
        #expect(waitOnline(watcher, feed: "poll"), "\(watcher.output)")
        let contract = try #require(
            try JSONParser.parse(Data(contentsOf: paths.envelope(for: .contracts)))["items"]?
                .arrayValue?.first?["id"]?.stringValue)
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(contract), "set": ["note": "polled"]]],
            ])
        #expect(Wait.until { try cachedItem(.contracts, contract)?["note"] == "polled" }, "\(watcher.output)")
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
    }

    @Test func printServiceNamesTheTokenFileNeverTheToken() throws {
        let unit = try b1cache(["watch", "--print-service", "systemd", "--token-file", tokenFile.path])
        #expect(unit.status == 0, "\(unit.errorOutput)")
        #expect(unit.output.contains("Restart=on-failure"))
        #expect(unit.output.contains("\"--token-file\" \"\(tokenFile.path)\""))
        #expect(!unit.output.contains("b1-dev-token"))
        let agent = try b1cache(["watch", "--print-service", "launchd", "--token-file", tokenFile.path])
        #expect(agent.status == 0 && agent.output.contains("<key>KeepAlive</key>"))
        let refused = try b1cache(["watch", "--print-service", "systemd"])
        #expect(refused.status == 2 && refused.errorOutput.contains("--token-file"))
    }
}
