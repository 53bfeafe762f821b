import B1Cache
import Foundation
import Testing

/// `flush --dry-run` prints the real flush's own plan: what it lists is exactly what the next flush sends.
@Suite(.perTestTimeLimit) final class FlushPlanTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(
            arguments + ["--cache-dir", cache.path], environment: server.environment(), timeout: 60)
    }

    /// How many requests carried each write id so far.
    func received() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for write in try server.admin("admin/ledger")["writes"]?.arrayValue ?? [] {
            if let id = write["id"]?.stringValue { counts[id] = write["received"]?.intValue ?? 0 }
        }
        return counts
    }

    /// The ids a dry run lists, in order.
    func planned(_ arguments: [String] = []) throws -> [String] {
        let result = try b1cache(["flush", "--dry-run"] + arguments)
        #expect(result.status == 0, "\(result.errorOutput)")
        return result.lines.filter { $0.hasPrefix("batch ") }.map { String($0.split(separator: " ")[2]) }
    }

    /// Runs a flush and returns the ids it sent, in first-sent order.
    func sent(_ arguments: [String] = []) throws -> [String] {
        let before = try received()
        _ = try b1cache(["flush"] + arguments)
        let after = try server.admin("admin/ledger")["writes"]?.arrayValue ?? []
        return after.compactMap { write in
            guard let id = write["id"]?.stringValue, (write["received"]?.intValue ?? 0) > (before[id] ?? 0) else {
                return nil
            }
            return id
        }
    }

    @Test func aDryRunAfterA503ListsExactlyWhatTheNextFlushSends() throws {
        let ids = try WriteQueue(paths: CachePaths(root: cache)).readablePending().map(\.id)
        #expect(ids.count == 3)
        // The second write fails transiently and must wait 120 s; the third is held back behind it.
        try server.admin("admin/faults", ["failIds": [.string(ids[1])], "retryAfter": 120])
        #expect(try sent() == [ids[0], ids[1]])
        let dryRun = try b1cache(["flush", "--dry-run"])
        #expect(dryRun.output.contains("Would send 0 writes"))
        #expect(dryRun.output.contains("Held back: \(ids[1]) waits for its backoff"))
        #expect(dryRun.output.contains("the 1 write after it keep"))
        #expect(try planned() == [])
        #expect(try sent() == [])
        // --max and --ignore-backoff shape both alike.
        #expect(try planned(["--ignore-backoff", "--max", "1"]) == [ids[1]])
        #expect(try sent(["--ignore-backoff", "--max", "1"]) == [ids[1]])
        #expect(try planned(["--ignore-backoff"]) == [ids[2]])
        #expect(try sent(["--ignore-backoff"]) == [ids[2]])
    }
}
