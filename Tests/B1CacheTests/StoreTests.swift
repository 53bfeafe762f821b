import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class StoreTests {
    let folder = TemporaryFolder()
    lazy var paths = CachePaths(root: folder.path("cache"))
    lazy var store = CacheStore(paths: paths)

    func invoice(_ id: String, extra: JSONValue = "kept") -> JSONValue {
        ["id": .string(id), "total": .number("1150.00"), "status": "AUTHORISED", "futureField": extra]
    }

    @Test func replacingAnEnvelopeUpdatesItsManifestEntryInTheSameOperation() throws {
        let synced = Date(timeIntervalSince1970: 1_795_000_000)
        let envelope = Envelope(
            collection: .invoices, syncedAt: synced, cursor: "c:9",
            items: [invoice("inv_1"), invoice("inv_2")])
        let written = try store.replaceEnvelope(envelope)
        #expect(written.revision == 1)
        let manifest = try store.manifest()
        let entry = try #require(manifest.collections[.invoices])
        #expect(entry.count == 2)
        #expect(entry.revision == 1)
        #expect(entry.cursor == "c:9")
        #expect(entry.syncedAt == synced)
        let size = try FileManager.default.attributesOfItem(atPath: paths.envelope(for: .invoices).path)[.size] as? Int
        #expect(entry.bytes == size)
    }

    @Test func unknownFieldsAndNumberLiteralsSurviveAReadModifyWrite() throws {
        try store.replaceEnvelope(
            Envelope(collection: .invoices, items: [invoice("inv_1", extra: ["nested": [1, 2]])]))
        var text = try String(contentsOf: paths.envelope(for: .invoices), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"items\"", with: "\"serverHint\": {\"b\": 1.50},\n  \"items\"")
        try Data(text.utf8).write(to: paths.envelope(for: .invoices))
        var envelope = try #require(try store.envelope(for: .invoices))
        envelope.items.append(invoice("inv_2"))
        try store.replaceEnvelope(envelope)
        let reread = try String(contentsOf: paths.envelope(for: .invoices), encoding: .utf8)
        #expect(reread.contains("\"serverHint\": {\n    \"b\": 1.50\n  }"))
        #expect(reread.contains("\"futureField\": {\n        \"nested\": [\n"))
        #expect(reread.contains("\"total\": 1150.00"))
        #expect(reread.hasSuffix("}\n"))
        #expect(try store.envelope(for: .invoices)?.revision == 2)
    }

    @Test func unknownMembersOfTheManifestsAccountAndEntriesSurviveARewriteAndVerify() throws {
        let root = try Repository.copySampleCache(to: folder.path("sample"))
        let sample = CacheStore(paths: CachePaths(root: root))
        var text = try String(contentsOf: CachePaths(root: root).manifest, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"orgId\"", with: "\"region\": \"ap-southeast-2\",\n    \"orgId\"")
        text = text.replacingOccurrences(of: "\"cursor\"", with: "\"etag\": \"w/1\",\n      \"cursor\"")
        try Data(text.utf8).write(to: CachePaths(root: root).manifest)
        var envelope = try #require(try sample.envelope(for: .clients))
        envelope.items.removeLast()
        try sample.replaceEnvelope(envelope)  // rewrites the manifest with a new clients entry
        let manifest = try sample.manifest()
        #expect(manifest.account?.otherMembers["region"] == "ap-southeast-2")
        #expect(manifest.collections[.clients]?.otherMembers["etag"] == "w/1")
        #expect(manifest.collections[.invoices]?.otherMembers["etag"] == "w/1")
        #expect(try Verifier(paths: CachePaths(root: root), repair: false).run().isEmpty)
        #expect(try Verifier(paths: CachePaths(root: root), repair: true).run().isEmpty)
        #expect(try sample.manifest().collections[.clients]?.otherMembers["etag"] == "w/1")
    }

    @Test func aTruncatedEnvelopeIsReportedWithItsPathAndNeverReplaced() throws {
        try store.replaceEnvelope(Envelope(collection: .clients, items: [["id": "cl_1"]]))
        let url = paths.envelope(for: .clients)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        #expect {
            try store.envelope(for: .clients)
        } throws: { error in
            guard case StoreError.corrupt(let path, let reason)? = error as? StoreError else { return false }
            return path == url.path && reason.contains("line")
        }
        #expect(try Data(contentsOf: url) == data.prefix(data.count / 2))
    }

    @Test func aNewerSchemaIsRefusedWithUpgradeAdvice() throws {
        try store.replaceEnvelope(Envelope(collection: .clients, items: []))
        let url = paths.envelope(for: .clients)
        let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(
            of: "\"schemaVersion\": 1", with: "\"schemaVersion\": 2")
        try Data(text.utf8).write(to: url)
        do {
            _ = try store.envelope(for: .clients)
            Issue.record("a newer schema was accepted")
        } catch let error as StoreError {
            #expect(error == .newerSchema(path: url.path, version: 2))
            #expect(error.description.contains("written by a newer b1cache (schema 2); upgrade b1cache"))
        }
    }

    @Test func duplicateItemIdsAndItemsWithoutIdAreCorrupt() throws {
        try FileManager.default.createDirectory(at: paths.collections, withIntermediateDirectories: true)
        let url = paths.envelope(for: .clients)
        func write(_ items: String) throws {
            try Data(
                """
                {"format":"b1cache.envelope","schemaVersion":1,"collection":"clients","revision":1,"syncedAt":null,
                 "cursor":null,"complete":true,"items":\(items)}
                """.utf8
            ).write(to: url)
        }
        try write(#"[{"id":"a"},{"id":"a"}]"#)
        #expect(throws: StoreError.self) { try store.envelope(for: .clients) }
        try write(#"[{"name":"no id"}]"#)
        #expect(throws: StoreError.self) { try store.envelope(for: .clients) }
        try write(#"[{"id":"a"}]"#)
        #expect(try store.envelope(for: .clients)?.items.count == 1)
    }

    @Test func anEnvelopeInTheWrongFileIsCorrupt() throws {
        try store.replaceEnvelope(Envelope(collection: .clients, items: []))
        try FileManager.default.copyItem(at: paths.envelope(for: .clients), to: paths.envelope(for: .invoices))
        #expect(throws: StoreError.self) { try store.envelope(for: .invoices) }
    }

    @Test func filesAre0600AndFolders0700UnderUmask000() throws {
        let old = umask(0)
        defer { umask(old) }
        try store.replaceEnvelope(Envelope(collection: .contracts, items: [["id": "ct_1"]]))
        for folder in [paths.root] + paths.folders {
            #expect(try mode(of: folder) == 0o700, "\(folder.path)")
        }
        #expect(try mode(of: paths.manifest) == 0o600)
        #expect(try mode(of: paths.envelope(for: .contracts)) == 0o600)
    }

    @Test func aSymbolicLinkRootIsRefused() throws {
        let real = folder.path("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: paths.root, withDestinationURL: real)
        #expect(throws: StoreError.rootIsSymbolicLink(path: paths.root.path)) {
            try store.replaceEnvelope(Envelope(collection: .clients))
        }
        #expect(throws: StoreError.rootIsSymbolicLink(path: paths.root.path)) { try store.manifest() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: real.path).isEmpty)
    }

    @Test func aRootOwnedByAnotherUserIsRefused() throws {
        guard getuid() == 0 else { return }  // only root can make a folder owned by someone else
        try FileManager.default.createDirectory(at: paths.root, withIntermediateDirectories: true)
        #expect(chown(paths.root.path, 65534, 65534) == 0)
        #expect(throws: StoreError.ownedByAnotherUser(path: paths.root.path, owner: 65534)) {
            try store.replaceEnvelope(Envelope(collection: .clients))
        }
    }

    @Test func orphansOfDeadWritersAreSweptAndLiveOnesKept() throws {
        try CacheRoot.prepare(paths)
        let dead = paths.collections.appendingPathComponent(".b1tmp-999999999-abcd-invoices.json")
        let live = paths.collections.appendingPathComponent(".b1tmp-1-abcd-invoices.json")  // pid 1 always exists
        let foundation = paths.root.appendingPathComponent(".dat.nosync1234.abc")
        for url in [dead, live, foundation] { try Data("partial".utf8).write(to: url) }
        let removed = try CacheRoot.sweepOrphans(paths).map(\.lastPathComponent).sorted()
        #expect(removed == [dead.lastPathComponent, foundation.lastPathComponent].sorted())
        #expect(FileManager.default.fileExists(atPath: live.path))
    }

    @Test func rootResolutionFollowsFlagThenEnvironmentThenXDGThenHome() {
        let env = ["B1CACHE_DIR": "/env/dir", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/dana"]
        #expect(CachePaths.resolve(flag: "/flag", environment: env).root.path == "/flag")
        #expect(CachePaths.resolve(flag: nil, environment: env).root.path == "/env/dir")
        var noDir = env
        noDir["B1CACHE_DIR"] = nil
        #expect(CachePaths.resolve(flag: nil, environment: noDir).root.path == "/xdg/billingone")
        noDir["XDG_CACHE_HOME"] = "relative/xdg"
        #expect(CachePaths.resolve(flag: nil, environment: noDir).root.path == "/home/dana/.cache/billingone")
        #expect(CachePaths.resolve(flag: "rel", environment: [:], currentDirectory: "/work").root.path == "/work/rel")
    }

    @Test func writeFileNamesSortInCreationOrderAndParseBack() throws {
        let base = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let names =
            (0..<3).map { WriteFileName(createdAt: base, sequence: $0, id: "id\($0)") }
            + [WriteFileName(createdAt: base.addingTimeInterval(0.000002), sequence: 0, id: "a")]
        #expect(names.map(\.fileName) == names.map(\.fileName).sorted())
        let parsed = try #require(WriteFileName(fileName: names[1].fileName))
        #expect(parsed.sequence == 1 && parsed.id == "id1")
        #expect(abs(parsed.createdAt.timeIntervalSince(base)) < 0.000002)
        #expect(names[0].fileName.hasPrefix("20261118T110640.123456Z-000000-id0"))
        #expect(WriteFileName(fileName: "notes.json") == nil)
    }

    func mode(of url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }
}
