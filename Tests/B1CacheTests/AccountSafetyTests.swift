import B1Cache
import Foundation
import Testing

/// One account per cache, one step outside the sign-in path: exported writes travel with their account, and a cache
/// whose account was lost is never merged into nor flushed under whichever token comes next.
@Suite(.perTestTimeLimit) final class AccountSafetyTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    static let other = "b1-other-token"

    func b1cache(_ arguments: [String], root: URL? = nil, token: String = "b1-dev-token") throws -> CommandResult {
        try CommandRunner.b1cache(
            arguments + ["--cache-dir", (root ?? cache).path],
            environment: server.environment(token: token), timeout: 60)
    }

    func ledgerIds() throws -> [String] {
        try server.admin("admin/ledger")["writes"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    @Test func anExportCannotBeFlushedUnderAnotherAccount() throws {
        let export = folder.path("pending.jsonl")
        #expect(try b1cache(["sign-out", "--export-pending", export.path]).status == 0)
        let fresh = folder.path("fresh")
        let imported = try b1cache(["enqueue", "--batch", export.path], root: fresh)
        #expect(imported.status == 0, "\(imported.errorOutput)")
        let refused = try b1cache(["flush"], root: fresh, token: Self.other)
        #expect(refused.status == 5, "\(refused.errorOutput)")
        #expect(
            refused.errorOutput.contains("4 pending writes belong to dana.whitfield@northwind-msp.co.nz"),
            "\(refused.errorOutput)")
        #expect(try ledgerIds().isEmpty)
        // The cache was not claimed by the other account either: its own account flushes it.
        let manifest = fresh.appendingPathComponent("manifest.json")
        if FileManager.default.fileExists(atPath: manifest.path) {
            #expect(try JSONParser.parse(Data(contentsOf: manifest))["account"] == .null)
        }
        let flushed = try b1cache(["flush"], root: fresh)
        #expect(flushed.status == 0 || flushed.status == 3, "\(flushed.errorOutput)")  // the failed one may fail again
        #expect(try ledgerIds().count == 4)
    }

    @Test func anExportIsNotImportedIntoACacheOfAnotherAccount() throws {
        let export = folder.path("pending.jsonl")
        #expect(try b1cache(["sign-out", "--export-pending", export.path]).status == 0)
        let others = folder.path("others")
        #expect(try b1cache(["sync"], root: others, token: Self.other).status == 0)
        let before = try snapshotFiles(under: others)
        let refused = try b1cache(["enqueue", "--batch", export.path], root: others, token: Self.other)
        #expect(refused.status == 5, "\(refused.errorOutput)")
        #expect(refused.errorOutput.contains("these writes belong to dana.whitfield@northwind-msp.co.nz"))
        #expect(try snapshotFiles(under: others) == before)
    }

    @Test func aTruncatedExportIsRefusedWhole() throws {
        let export = folder.path("pending.jsonl")
        #expect(try b1cache(["sign-out", "--export-pending", export.path]).status == 0)
        let lines = try String(contentsOf: export, encoding: .utf8).split(separator: "\n")
        try Data((lines.dropLast().joined(separator: "\n") + "\n").utf8).write(to: export)
        let result = try b1cache(["enqueue", "--batch", export.path], root: folder.path("fresh"))
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("its header counts 4 writes, but it holds 3"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("fresh/queue").path))
    }

    @Test func anExportOfNothingPendingRoundTrips() throws {
        for place in ["queue", "failed"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent(place).path) {
                try FileManager.default.removeItem(at: cache.appendingPathComponent("\(place)/\(name)"))
            }
        }
        let export = folder.path("pending.jsonl")
        #expect(try b1cache(["sign-out", "--export-pending", export.path]).status == 0)
        let result = try b1cache(["enqueue", "--batch", export.path], root: folder.path("fresh"))
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.contains("Nothing to queue"))
    }

    @Test func anExistingExportFileIsNeverReplacedUnasked() throws {
        let export = folder.path("pending.jsonl")
        try Data("three writes of yesterday\n".utf8).write(to: export)
        let refused = try b1cache(["sign-out", "--export-pending", export.path])
        #expect(refused.status == 2)
        #expect(refused.errorOutput.contains("already exists (a file)"))
        #expect(refused.errorOutput.contains("--overwrite"))
        #expect(try String(contentsOf: export, encoding: .utf8) == "three writes of yesterday\n")
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("manifest.json").path))
        // A link (even a dangling one) or a device is refused even with --overwrite: never written through.
        let link = folder.path("link.jsonl")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: folder.path("target").path)
        for path in [link.path, "/dev/null"] {
            let result = try b1cache(["sign-out", "--export-pending", path, "--overwrite"])
            #expect(result.status == 2, "\(path): \(result.errorOutput)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path("target").path))
        let replaced = try b1cache(["sign-out", "--export-pending", export.path, "--overwrite"])
        #expect(replaced.status == 0, "\(replaced.errorOutput)")
        #expect(try String(contentsOf: export, encoding: .utf8).split(separator: "\n").count == 5)
    }

    /// `verify --repair` rebuilds a lost manifest with no account. The next sync, under another account's token,
    /// must not merge into (or keep) the first account's data.
    @Test func aCacheWhoseAccountWasLostIsReplacedWholeBySync() throws {
        // Sync first, so the envelopes hold the server's own cursors ("c:N", a change number); then give the other
        // account more changes than that, so those cursors are valid for it too (as any small one would be).
        #expect(try b1cache(["sync"]).status == 0)  // flushes the pending writes too; the failed one stays
        let clients: [JSONValue] = (0..<1500).map {
            .object(["id": .string("cl_bulk_\($0)"), "name": .string("Bulk \($0)")])
        }
        try server.admin(
            "admin/mutate", ["token": .string(Self.other), "collection": "clients", "upsert": .array(clients)])
        try Data("{ not json".utf8).write(to: cache.appendingPathComponent("manifest.json"))
        #expect(try b1cache(["verify", "--repair"]).status == 0)
        let synced = try b1cache(["sync"], token: Self.other)
        #expect(synced.status == 0, "\(synced.output)\(synced.errorOutput)")
        let dashboard = try JSONParser.parse(
            try b1cache(["show", "dashboard", "--id", "summary"], token: Self.other).output)
        #expect(dashboard == (try server.items("dashboard", token: Self.other)).first)
        for collection in ["invoices", "clients", "missed-billing"] {
            let shown = try b1cache(["show", collection], token: Self.other).lines
                .compactMap { try JSONParser.parse($0)["id"]?.stringValue }
            let served = try server.items(collection, token: Self.other).compactMap { $0["id"]?.stringValue }
            #expect(Set(shown) == Set(served), "\(collection)")
        }
    }

    @Test func pendingWritesOfALostAccountAreNotSentUnderAnother() throws {
        try Data("{ not json".utf8).write(to: cache.appendingPathComponent("manifest.json"))
        #expect(try b1cache(["verify", "--repair"]).status == 0)
        let before = try snapshotFiles(under: cache)
        for arguments in [["flush"], ["sync"], ["sync", "--no-flush"]] {
            let result = try b1cache(arguments, token: Self.other)
            #expect(result.status == 5, "\(arguments): \(result.errorOutput)")
            #expect(result.errorOutput.contains("3 pending writes do not say whose they are"), "\(result.errorOutput)")
        }
        #expect(try ledgerIds().isEmpty)
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func aWriteQueuedNowCarriesItsAccountAndIsNeverSentUnderAnother() throws {
        let queued = try b1cache([
            "enqueue", "contract.line-tax", "--payload",
            #"{"contractId":"ct_z8znb2ce29","lineId":"ctl_ptjqy15w59","taxCode":"GST","taxRate":10}"#,
            "--json",
        ])
        #expect(queued.status == 0, "\(queued.errorOutput)")
        let id = try #require(try JSONParser.parse(queued.output)["id"]?.stringValue)
        let write = try #require(try WriteQueue(paths: CachePaths(root: cache)).readablePending().first { $0.id == id })
        #expect(write.account?.orgId == "org_7f3k2m9q")
    }
}
