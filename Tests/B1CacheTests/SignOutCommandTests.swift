import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class SignOutCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path])
    }

    func snapshot() throws -> [String: Data] { try snapshotFiles(under: cache) }

    @Test func signOutWithPendingWritesExits7SaysHowManyAndLosesNothing() throws {
        let before = try snapshot()
        let result = try b1cache(["sign-out"])
        #expect(result.status == 7)
        #expect(result.errorOutput.contains("3 pending and 1 failed"))
        #expect(try snapshot() == before)
    }

    /// Either kind of write alone is enough to refuse: a cache with both would pass if only one were counted.
    @Test(arguments: ["queue", "failed"])
    func signOutWithOnlyOneKindOfWriteLeftStillExits7(emptied: String) throws {
        let writes = cache.appendingPathComponent(emptied)
        for name in try FileManager.default.contentsOfDirectory(atPath: writes.path) where name.hasSuffix(".json") {
            try FileManager.default.removeItem(at: writes.appendingPathComponent(name))
        }
        let before = try snapshot()
        let result = try b1cache(["sign-out"])
        #expect(result.status == 7, "\(result.output)\(result.errorOutput)")
        #expect(result.errorOutput.contains(emptied == "queue" ? "0 pending and 1 failed" : "3 pending and 0 failed"))
        #expect(try snapshot() == before)
    }

    @Test func forceLeavesNothingBehind() throws {
        let result = try b1cache(["sign-out", "--force"])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: cache.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }

    @Test func exportPendingSavesEveryWriteThenWipes() throws {
        let export = folder.path("pending.jsonl")
        let result = try CommandRunner.b1cache(
            ["sign-out", "--export-pending", export.path, "--cache-dir", cache.path],
            umask: "000")
        #expect(result.status == 0, "\(result.errorOutput)")
        let lines = try String(contentsOf: export, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5)
        let header = try JSONParser.parse(String(lines[0]))
        #expect(header["format"] == "b1cache.export")
        #expect(header["writes"] == 4)
        #expect(header["account"]?["orgId"] == "org_7f3k2m9q")
        for line in lines.dropFirst() {
            let write = try JSONParser.parse(String(line))
            #expect(write["format"] == "b1cache.write")
            #expect(write["account"]?["orgId"] == "org_7f3k2m9q")
        }
        #expect(!FileManager.default.fileExists(atPath: cache.path))
        let mode = try FileManager.default.attributesOfItem(atPath: export.path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o777 } == 0o600)
    }

    @Test func exportInsideTheCacheIsRefused() throws {
        let result = try b1cache(["sign-out", "--export-pending", cache.appendingPathComponent("x.jsonl").path])
        #expect(result.status == 2)
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("manifest.json").path))
    }

    @Test func aWipeInterruptedAfterTheRenameIsFinishedByTheNextRun() throws {
        // What a crash between the rename aside and the delete leaves behind.
        let aside = folder.path(".cache.signing-out-0f0f")
        try FileManager.default.moveItem(at: cache, to: aside)
        let result = try CommandRunner.b1cache(["inspect", "--cache-dir", cache.path])
        #expect(result.status == 0)
        #expect(!FileManager.default.fileExists(atPath: aside.path))
    }

    @Test func signOutOfNothingIsFine() throws {
        let result = try CommandRunner.b1cache(["sign-out", "--cache-dir", folder.path("none").path])
        #expect(result.status == 0)
        #expect(result.output.contains("Nothing to delete"))
    }
}
