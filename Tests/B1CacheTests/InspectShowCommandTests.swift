import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class InspectShowCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment)
    }

    @Test func inspectJSONListsNineCollectionsWhoseCountsMatchJq() throws {
        let result = try b1cache(["inspect", "--json"])
        #expect(result.status == 0, "\(result.errorOutput)")
        let summary = try JSONParser.parse(result.output)
        let collections = try #require(summary["collections"]?.arrayValue)
        #expect(collections.count == 9)
        for entry in collections {
            let name = try #require(entry["name"]?.stringValue)
            let file = cache.appendingPathComponent("collections/\(name).json")
            let jqCount = try CommandRunner.jq(".items|length", file)
            #expect(entry["count"]?.intValue == Int(jqCount), "\(name)")
            let shown = try b1cache(["show", name])
            #expect(shown.status == 0)
            #expect(shown.lines.count == Int(jqCount), "\(name)")
        }
        #expect(summary["pending"]?["count"]?.intValue == 3)
        #expect(summary["failed"]?["count"]?.intValue == 1)
        #expect(summary["account"]?["orgId"]?.stringValue?.hasPrefix("org_") == true)
        #expect(summary["lock"]?["held"] == .bool(false))
    }

    @Test func inspectMarksCollectionsSyncedBeforeTheLastSyncAllAsStale() throws {
        // With a huge threshold only the Sync All rule applies, whatever today's date is.
        let result = try b1cache(["inspect", "--json", "--stale-after", "100000d"])
        let summary = try JSONParser.parse(result.output)
        let manifest = try CacheStore(paths: CachePaths(root: cache)).manifest()
        let lastSyncAll = try #require(manifest.lastSyncAllAt)
        var staleCount = 0
        for entry in summary["collections"]?.arrayValue ?? [] {
            let name = try #require(entry["name"]?.stringValue.flatMap(CollectionName.init(rawValue:)))
            let syncedAt = try #require(manifest.collections[name]?.syncedAt)
            #expect(entry["stale"] == .bool(syncedAt < lastSyncAll), "\(name)")
            if syncedAt < lastSyncAll { staleCount += 1 }
        }
        #expect(staleCount >= 1)
    }

    @Test func inspectHumanOutputShowsAgesStaleMarksAndPendingWarningWithoutColourOffATerminal() throws {
        let result = try b1cache(["inspect"])
        #expect(result.status == 0)
        #expect(result.output.contains("stale"))
        #expect(result.output.contains(" ago"))
        #expect(result.output.contains("Pending writes 3, oldest"))
        #expect(result.output.contains("Failed writes  1"))
        #expect(!result.output.contains("\u{1B}["))
    }

    @Test func showByIdPrintsOneItemAndAnUnknownIdFails() throws {
        let first = try #require(try b1cache(["show", "clients"]).lines.first)
        let id = try #require(try JSONParser.parse(first)["id"]?.stringValue)
        let one = try b1cache(["show", "clients", "--id", id])
        #expect(one.lines == [first])
        let missing = try b1cache(["show", "clients", "--id", "cl_nope"])
        #expect(missing.status == 1)
        #expect(missing.errorOutput.contains("no item with id 'cl_nope'"))
    }

    @Test func aTruncatedEnvelopeMakesShowExit8NamingTheFileWhileInspectStillWorks() throws {
        let file = cache.appendingPathComponent("collections/invoices.json")
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 3).write(to: file)
        let shown = try b1cache(["show", "invoices"])
        #expect(shown.status == 8)
        #expect(shown.errorOutput.contains("b1cache: error: \(file.path) is corrupt"))
        #expect(shown.errorOutput.contains("hint: run 'b1cache verify --repair'"))
        #expect(try b1cache(["inspect"]).status == 0)
        #expect(try Data(contentsOf: file) == data.prefix(data.count / 3))
    }

    @Test func anEnvelopeWithANewerSchemaIsRefusedSayingNewer() throws {
        let file = cache.appendingPathComponent("collections/contracts.json")
        let text = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "\"schemaVersion\": 1", with: "\"schemaVersion\": 7")
        try Data(text.utf8).write(to: file)
        let shown = try b1cache(["show", "contracts"])
        #expect(shown.status != 0)
        #expect(shown.errorOutput.contains("newer b1cache (schema 7); upgrade b1cache"))
    }

    @Test func aCorruptManifestMakesInspectExit8() throws {
        try Data("{\"format\": \"b1cache.manifest\", ".utf8).write(to: cache.appendingPathComponent("manifest.json"))
        let result = try b1cache(["inspect"])
        #expect(result.status == 8)
        #expect(result.errorOutput.contains("manifest.json is corrupt"))
    }

    @Test func usageErrorsExit2() throws {
        #expect(try b1cache(["show"]).status == 2)
        #expect(try b1cache(["show", "nonsense"]).status == 2)
        #expect(try b1cache(["inspect", "--frobnicate"]).status == 2)
        #expect(try b1cache(["inspect", "--stale-after", "soon"]).status == 2)
        #expect(try CommandRunner.b1cache(["launch-rockets"]).status == 2)
    }

    @Test(arguments: ["inspect", "show", "path", "sign-out"])
    func everyCommandHasHelp(command: String) throws {
        let result = try CommandRunner.b1cache([command, "--help"])
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("Usage: b1cache \(command)"))
    }

    @Test func pathFollowsTheEnvironment() throws {
        let result = try CommandRunner.b1cache(
            ["path"], environment: ["B1CACHE_DIR": "/srv/b1", "XDG_CACHE_HOME": "/x"])
        #expect(result.output == "/srv/b1\n")
        let xdg = try CommandRunner.b1cache(["path"], environment: ["XDG_CACHE_HOME": "/x"])
        #expect(xdg.output == "/x/billingone\n")
    }
}
