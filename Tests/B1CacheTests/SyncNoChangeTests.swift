import B1Cache
import Foundation
import Testing

/// A pull that brings nothing writes no envelope: the manifest records it (`confirmedAt`, `confirmedCursor`), the
/// collections read as fresh, the next change is pulled from the confirmed cursor, and a manifest left behind its
/// envelope (a crash between the two writes) still resumes from the envelope's own cursor.
@Suite final class SyncNoChangeTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    lazy var cache = folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: server.environment())
    }

    /// Each envelope file's bytes, inode and modification time.
    func envelopeFiles() throws -> [String: String] {
        var files: [String: String] = [:]
        let collections = cache.appendingPathComponent("collections")
        for name in try FileManager.default.contentsOfDirectory(atPath: collections.path) {
            let path = collections.appendingPathComponent(name).path
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let inode = attributes[.systemFileNumber].map { "\($0)" } ?? "?"
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            // The bytes themselves, not `hashValue` (which need not cover every byte).
            files[name] = "inode \(inode), mtime \(modified), \(data.count) bytes: \(data.base64EncodedString())"
        }
        return files
    }

    func manifest() throws -> Manifest { try CacheStore(paths: CachePaths(root: cache)).manifest() }

    @Test func aSyncThatBringsNothingLeavesEveryEnvelopeAsItWasAndTheCollectionsFresh() throws {
        // SampleCache's own cursors: the server answers most of them with nothing new and a cursor of its own.
        _ = try Repository.copySampleCache(to: cache)
        let sample = try envelopeFiles()
        #expect(sample.count == CollectionName.allCases.count)
        let first = try b1cache(["sync", "--json"])
        #expect(first.status == 0, "\(first.output)\(first.errorOutput)")
        let unchanged =
            try JSONParser.parse(first.output)["collections"]?.arrayValue?.filter {
                $0["received"]?.intValue == 0 && $0["removed"]?.intValue == 0
            }.compactMap { $0["collection"]?.stringValue } ?? []
        #expect(unchanged.contains("contracts") && unchanged.count >= 5, "\(first.output)")
        let afterFirst = try envelopeFiles()
        for name in unchanged { #expect(afterFirst["\(name).json"] == sample["\(name).json"], "\(name)") }
        for name in unchanged {
            let collection = try #require(CollectionName(rawValue: name))
            let entry = try #require(try manifest().collections[collection])
            #expect(entry.confirmedCursor?.hasPrefix("c:") == true, "\(name): the server's new cursor is recorded")
        }

        // A sync when nothing changed anywhere: not one envelope written.
        let before = afterFirst
        let started = Date().addingTimeInterval(-1)  // files hold times to the second
        let result = try b1cache(["sync", "--json"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        #expect(try envelopeFiles() == before)
        let report = try JSONParser.parse(result.output)
        for line in report["collections"]?.arrayValue ?? [] {
            #expect(line["mode"] == "incremental" && line["received"]?.intValue == 0, "\(line)")
        }
        let manifest = try manifest()
        #expect(try #require(manifest.lastSyncAllAt) >= started)
        for collection in CollectionName.allCases {
            let entry = try #require(manifest.collections[collection])
            #expect(try #require(entry.confirmedAt) >= started, "\(collection)")
            #expect(!manifest.isStale(collection), "\(collection)")
        }
        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)
        for line in inspect["collections"]?.arrayValue ?? [] {
            #expect(line["stale"] == false, "\(line)")
            #expect(line["syncedAt"]?.stringValue.flatMap(Timestamp.date).map { $0 >= started } == true, "\(line)")
        }
        #expect(try b1cache(["verify"]).status == 0)

        // The next change is pulled from the confirmed cursor and rewrites that envelope alone, which now carries it.
        let cursor = try #require(try self.manifest().collections[.contracts]?.confirmedCursor)
        let contracts = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .contracts))
        let changed = try #require(contracts.items.first?["id"]?.stringValue)
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(changed), "set": ["status": "expired"]]],
            ])
        let third = try b1cache(["sync", "--json"])
        #expect(third.status == 0, "\(third.output)\(third.errorOutput)")
        #expect(try server.recentRequests().contains { $0.hasPrefix("/v1/collections/contracts?since=\(cursor)&") })
        var expected = before
        expected["contracts.json"] = nil
        var after = try envelopeFiles()
        #expect(after["contracts.json"] != before["contracts.json"])
        after["contracts.json"] = nil
        #expect(after == expected)
        let rewritten = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .contracts))
        #expect(rewritten.revision == contracts.revision + 1)
        let entry = try #require(try self.manifest().collections[.contracts])
        #expect(entry.confirmedAt == nil && entry.confirmedCursor == nil && entry.cursor == rewritten.cursor)
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func aManifestLeftBehindItsEnvelopeResumesFromTheEnvelopesOwnCursor() throws {
        #expect(try b1cache(["sync"]).status == 0)
        let manifestURL = cache.appendingPathComponent("manifest.json")
        let oldManifest = try Data(contentsOf: manifestURL)
        let first = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .contracts))
        let changed = try #require(first.items.first?["id"]?.stringValue)
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(changed), "set": ["status": "expired"]]],
            ])
        #expect(try b1cache(["sync", "contracts"]).status == 0)
        let second = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .contracts))
        #expect(second.cursor != first.cursor)
        // As if the process died after renaming the envelope and before the manifest: the old manifest, older
        // than the envelope on disk.
        try oldManifest.write(to: manifestURL)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-3600)],
            ofItemAtPath: manifestURL.path)
        #expect(try b1cache(["verify"]).status != 0, "the entry one revision behind is reported")
        let other = try #require(second.items.last?["id"]?.stringValue)
        try server.admin(
            "admin/mutate",
            [
                "collection": "contracts",
                "patch": [["id": .string(other), "set": ["status": "expired"]]],
            ])
        let result = try b1cache(["sync", "contracts", "--json"])
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        let secondCursor = try #require(second.cursor)
        #expect(
            try server.recentRequests().contains { $0.hasPrefix("/v1/collections/contracts?since=\(secondCursor)&") })
        let third = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .contracts))
        #expect(third.revision == second.revision + 1)
        #expect(third.items.first { $0["id"]?.stringValue == other }?["status"] == "expired")
        #expect(try b1cache(["verify"]).status == 0, "the manifest entry is whole again")
    }
}
