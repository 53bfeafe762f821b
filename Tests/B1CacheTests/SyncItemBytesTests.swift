import B1Cache
import Foundation
import Testing

/// Sync holds a collection's items as their bytes (issue 14): a full and an incremental pull, and `verify`, cost
/// about the envelope's size in memory above the process's own, and an envelope edited by hand (valid, but not as b1cache
/// lays it out) comes back from an incremental pull exactly as `Envelope.encoded()` writes it.
@Suite(.perTestTimeLimit) final class SyncItemBytesTests {
    let folder = TemporaryFolder()
    lazy var cache = folder.path("cache")

    /// SampleCache with `count` more invoices, as a seed for the reference server.
    func seed(invoices count: Int) throws -> URL {
        try Repository.sampleCache(at: folder.path("seed"), invoices: count, idPrefix: "inv_mem")
    }

    @Test func fullAndIncrementalSyncPeakAtAboutTheEnvelopeSizeAboveTheProcess() throws {
        let server = try ReferenceServer(
            seed: try seed(invoices: Stress.count(short: 20_000, long: 100_000)), database: folder.path("server.db"))
        func sync(_ name: String) throws -> MeasuredResult {
            let run = try CommandRunner.b1cacheMeasured(
                ["sync", "invoices", "--no-flush", "--cache-dir", cache.path], environment: server.environment(),
                report: folder.path("\(name).report"))
            #expect(run.status == 0, "\(run.output)\(run.errorOutput)")
            return run
        }
        let full = try sync("full")
        let bytes =
            try FileManager.default.attributesOfItem(
                atPath: cache.appendingPathComponent("collections/invoices.json").path)[.size] as? Int ?? 0
        let ids = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .invoices)).items
            .compactMap { $0["id"]?.stringValue }
        try server.admin(
            "admin/mutate",
            [
                "collection": "invoices",
                "patch": .array(ids[100..<150].map { ["id": .string($0), "set": ["status": "PAID"]] }),
                "delete": .array(ids[500..<505].map { .string($0) }),
            ])
        let incremental = try sync("incremental")
        let unchanged = try sync("unchanged")  // reads no envelope: the process's own peak
        let baseline = unchanged.peakKilobytes * 1024
        // verify parses every envelope, holding the items as bytes too (as a tree: 3.5× the file above the baseline).
        let verify = try CommandRunner.b1cacheMeasured(
            ["verify", "--cache-dir", cache.path], environment: server.environment(),
            report: folder.path("verify.report"))
        #expect(verify.status == 0, "\(verify.output)\(verify.errorOutput)")
        // Held as a JSONValue tree, the items took about 2.4 times the file above the baseline.
        var figures: [String] = []
        for (name, run) in [("full", full), ("incremental", incremental), ("verify", verify)] {
            let above = Double(run.peakKilobytes * 1024 - baseline) / Double(bytes)
            #expect(above < 1.5, "\(name): \(above)× the \(bytes)-byte envelope above the process's own peak")
            figures.append("\(name) \(run.peakKilobytes / 1024) MB (\(String(format: "%.2f", above))× above)")
        }
        Stress.record(
            "memory/sync",
            "\(ids.count) invoices, \(bytes / 1_000_000) MB envelope: " + figures.joined(separator: ", ")
                + "; a sync that reads no envelope \(unchanged.peakKilobytes / 1024) MB")
        let cached = try #require(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .invoices))
        #expect(cached.items.count == ids.count - 5)
        #expect(cached.item(id: ids[120])?["status"] == "PAID")
    }

    @Test func anEnvelopeEditedByHandIsWrittenBackAsEncodedWritesIt() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        _ = try Repository.copySampleCache(to: cache)
        let first = try CommandRunner.b1cache(
            ["sync", "invoices", "--no-flush", "--cache-dir", cache.path], environment: server.environment())
        #expect(first.status == 0, "\(first.output)\(first.errorOutput)")
        let url = cache.appendingPathComponent("collections/invoices.json")
        let original = try Envelope.decode(Data(contentsOf: url), path: url.path)
        // Valid JSON, not b1cache's layout: one line, tabs, an escaped slash and letter, keys out of order.
        var header = original
        header.items = []
        let items = original.items.map { "{\t\"zz\": \"a\\/b\\u0041\", " + JSONWriter.compactString($0).dropFirst() }
        let text = JSONWriter.compactString(try JSONParser.parse(header.encoded()))
            .replacingOccurrences(of: #""items":[]"#, with: "\"items\" : [\(items.joined(separator: ",\n "))]")
        let edited = Data((text + "\n").utf8)
        let handEdited = try Envelope.decode(edited, path: url.path)
        #expect(handEdited.items.first?["zz"] == "a/bA")
        try edited.write(to: url)
        let target = try #require(original.items.last?["id"]?.stringValue)
        try server.admin(
            "admin/mutate", ["collection": "invoices", "patch": [["id": .string(target), "set": ["status": "PAID"]]]])
        let result = try CommandRunner.b1cache(
            ["sync", "invoices", "--no-flush", "--json", "--cache-dir", cache.path], environment: server.environment())
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        let written = try Data(contentsOf: url)
        let decoded = try Envelope.decode(written, path: url.path)
        #expect(written == decoded.encoded(), "the file is not in encoded()'s form")
        #expect(decoded.item(id: target)?["status"] == "PAID")
        for item in handEdited.items where item["id"]?.stringValue != target {
            let id = try #require(item["id"]?.stringValue)
            #expect(decoded.item(id: id) == item, "\(id): the hand-edited item, kept with its values")
        }
        #expect(try CommandRunner.b1cache(["verify", "--cache-dir", cache.path]).status == 0)
    }
}
