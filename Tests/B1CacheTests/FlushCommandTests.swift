import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class FlushCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")
    lazy var queue = WriteQueue(paths: CachePaths(root: cache))
    let server: ReferenceServer

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String], token: String = "b1-dev-token") throws -> CommandResult {
        try CommandRunner.b1cache(
            arguments + ["--cache-dir", cache.path], environment: server.environment(token: token))
    }

    func pendingIds() throws -> [String] { try queue.readablePending().map(\.id) }

    @Test func theSampleQueueFlushesOnceEachAndTheCacheShowsTheServersState() throws {
        let ids = try pendingIds()
        #expect(ids.count == 3)
        let result = try b1cache(["flush"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        #expect(try pendingIds().isEmpty)
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id)") }
        let item = try JSONParser.parse(try b1cache(["show", "missed-billing", "--id", Sample.snoozedByQueue]).output)
        #expect(item["status"] == "snoozed")
        for id in Sample.appliedByQueue {
            #expect(
                try JSONParser.parse(try b1cache(["show", "missed-billing", "--id", id]).output)["status"] == "applied")
        }
        let log = try b1cache(["log", "--json"])
        #expect(log.lines.count == 3)
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func a503StopsTheFlushKeepsOrderAndRecordsTheAttempt() throws {
        let before = try queue.readablePending()
        try server.admin("admin/faults", ["status": 503, "count": 1, "retryAfter": 120, "path": "/v1/writes"])
        let result = try b1cache(["flush"])
        #expect(result.status == 3)
        let after = try queue.readablePending()
        #expect(after.map(\.id) == before.map(\.id))
        #expect(after[0].attempts == before[0].attempts + 1)
        #expect(after[0].lastError?.contains("503") == true)
        let next = try #require(after[0].nextAttemptAt)
        #expect(next.timeIntervalSinceNow > 100)  // Retry-After: 120 honoured
        #expect(after[1].attempts == 0)
        #expect(try server.appliedCounts().isEmpty)
        // The backoff holds the whole queue back, in order; --ignore-backoff sends now.
        #expect(try b1cache(["flush"]).status == 3)
        #expect(try server.appliedCounts().isEmpty)
        #expect(try b1cache(["flush", "--ignore-backoff"]).status == 0)
    }

    @Test func a409MovesOneWriteToFailedTheRestFlushAndRetryPutsItBack() throws {
        let ids = try pendingIds()
        try server.admin("admin/faults", ["conflictIds": [.string(ids[1])]])
        let result = try b1cache(["flush", "--json"])
        #expect(result.status == 3)
        let summary = try JSONParser.parse(result.output)
        #expect(summary["movedToFailed"] == .array([.string(ids[1])]))
        #expect(try pendingIds().isEmpty)
        let failed = try queue.list(.failed).compactMap(\.write)
        let conflicted = try #require(failed.first { $0.id == ids[1] })
        #expect(conflicted.lastError?.contains("409") == true)
        #expect(try server.appliedCounts()[ids[0]] == 1 && server.appliedCounts()[ids[2]] == 1)
        #expect(try b1cache(["retry", ids[1]]).status == 0)
        #expect(try pendingIds() == [ids[1] + "-r1"])  // a rejection is final for its id: a new one (PROTOCOL.md)
    }

    @Test func aWrongTokenExits5AndChangesNothing() throws {
        let before = try snapshot()
        let result = try b1cache(["flush"], token: "not-a-token")
        #expect(result.status == 5)
        #expect(result.errorOutput.contains("session expired: sign in again"))
        #expect(try snapshot() == before)
        let other = try b1cache(["flush"], token: "b1-other-token")
        #expect(other.status == 5)
        #expect(other.errorOutput.contains("sam.other@example.com"))
        #expect(try snapshot() == before)
    }

    @Test func aServerThatIsDownGivesExit4AndLosesNothing() throws {
        let before = try snapshot()
        let result = try CommandRunner.b1cache(
            ["flush", "--cache-dir", cache.path],
            environment: ["B1_SERVER_URL": "http://127.0.0.1:9", "B1_TOKEN": "b1-dev-token"])
        #expect(result.status == 4)
        #expect(result.errorOutput.contains("offline"))
        #expect(try snapshot() == before)
    }

    @Test func aDroppedConnectionAfterApplyingIsResentAndAppliedOnce() throws {
        let ids = try pendingIds()
        try server.admin("admin/faults", ["dropAfterApply": 1, "path": "/v1/writes"])
        #expect(try b1cache(["flush"]).status == 3)
        #expect(try pendingIds() == ids)
        try server.admin("admin/faults", [:])
        #expect(try b1cache(["flush", "--ignore-backoff"]).status == 0)
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1) }
    }

    func snapshot() throws -> [String: Data] { try snapshotFiles(under: cache) }
}
