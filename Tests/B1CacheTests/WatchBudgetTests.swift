import B1Cache
import Foundation
import Testing

/// The storage budget under `watch`: the pulls the watcher makes by itself measure the cache as `sync` does, warn
/// once each time they leave it over budget (not on every pull), and remove nothing for it.
extension WatchTests {
    /// Items of `collection` that are about 1 KB each more than an empty one, for the server to add.
    func bulkyContracts(_ prefix: String, count: Int) throws -> [JSONValue] {
        let template = try #require(
            try JSONParser.parse(Data(contentsOf: paths.envelope(for: .contracts)))["items"]?.arrayValue?.first?
                .objectValue)
        return (0..<count).map { index in
            var item = template
            item["id"] = .string("ct_\(prefix)\(index)")
            item["note"] = .string(String(repeating: "budget ", count: 150))
            return .object(item)
        }
    }

    func overBudgetEvents(_ watcher: WatchProcess) -> [JSONValue] {
        watcher.jsonLines.compactMap { try? JSONParser.parse(Data($0.utf8)) }.filter { $0["event"] == "over-budget" }
    }

    @Test func aPullThatCrossesTheBudgetWarnsOnceAndAgainOnlyAfterTheCacheWasBackUnder() throws {
        #expect(try b1cache(["sync"]).status == 0)
        let storage = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)["storage"]
        let used = try #require(storage?["usedBytes"]?.intValue)
        let budget = used + 20_000
        let watcher = try watch(["--json", "--budget", "\(budget)B"])
        #expect(waitOnline(watcher), "\(watcher.output)")
        let first = try bulkyContracts("first", count: 40)
        try server.admin("admin/mutate", ["collection": "contracts", "upsert": .array(first)])
        #expect(Wait.until { self.overBudgetEvents(watcher).count == 1 }, "\(watcher.jsonLines)")
        let event = try #require(overBudgetEvents(watcher).first)
        #expect(event["storage"]?["overBudget"] == true)
        #expect(event["storage"]?["budgetBytes"]?.intValue == budget)
        #expect((event["storage"]?["usedBytes"]?.intValue ?? 0) > budget)
        #expect(event["storage"]?["collections"]?.arrayValue?.first?["collection"] != nil)
        // Still over: another pull says nothing new.
        let contract = try #require(first.first?["id"]?.stringValue)
        try server.admin(
            "admin/mutate", ["collection": "contracts", "patch": [["id": .string(contract), "set": ["note": "x"]]]])
        #expect(Wait.until { try self.cachedItem(.contracts, contract)?["note"] == "x" }, "\(watcher.jsonLines)")
        // Back under, then over again: a second warning.
        try server.admin(
            "admin/mutate", ["collection": "contracts", "delete": .array(first.compactMap { $0["id"] })])
        #expect(Wait.until { try self.cachedItem(.contracts, contract) == nil }, "\(watcher.jsonLines)")
        #expect(overBudgetEvents(watcher).count == 1, "\(watcher.jsonLines)")
        try server.admin(
            "admin/mutate", ["collection": "contracts", "upsert": .array(try bulkyContracts("second", count: 40))])
        #expect(Wait.until { self.overBudgetEvents(watcher).count == 2 }, "\(watcher.jsonLines)")
        // Nothing was removed for the budget: every item the server has is in the cache.
        #expect(try cachedItem(.contracts, "ct_second39") != nil)
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
        #expect(overBudgetEvents(watcher).count == 2, "\(watcher.jsonLines)")
    }

    @Test func aWatcherOverBudgetSaysSoOnStderrAndTheBudgetReachesTheServiceUnit() throws {
        let watcher = try watch(["--budget", "1KB"])
        #expect(watcher.waitForLine(containing: "storage budget"), "\(watcher.output)")
        let line = try #require(watcher.lines.first { $0.contains("storage budget") })
        #expect(line.contains("of its 1 KB storage budget") && line.contains("nothing was removed"), "\(line)")
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
        #expect(watcher.lines.filter { $0.contains("storage budget") }.count == 1, "\(watcher.output)")

        let service = ["watch", "--print-service", "systemd", "--token-file", tokenFile.path]
        let flagged = try b1cache(service + ["--budget", "80MB"])
        #expect(flagged.status == 0 && flagged.output.contains("\"--budget\" \"80MB\""), "\(flagged.output)")
        // The service does not inherit this shell's variable: the unit carries the budget in force.
        let inherited = try CommandRunner.b1cache(
            service + ["--cache-dir", cache.path],
            environment: server.environment().merging(["B1CACHE_BUDGET": "2GB"]) { $1 })
        #expect(inherited.status == 0 && inherited.output.contains("\"--budget\" \"2GB\""), "\(inherited.output)")
        let bad = try b1cache(service + ["--budget", "lots"])
        #expect(bad.status == 2 && bad.errorOutput.contains("--budget"), "\(bad.errorOutput)")
        #expect(!bad.output.contains("ExecStart"))
    }
}
