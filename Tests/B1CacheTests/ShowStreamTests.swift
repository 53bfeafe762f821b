import B1Cache
import Foundation
import Testing

/// `show COLLECTION` hands the items out one at a time from the envelope's bytes (`Cache.itemStream`): on a large
/// collection it holds about the file, not a tree 3.4 times its size, one item by `--id` is found without parsing
/// the others into values, and what it prints is exactly what the whole tree gives (each line checked against a
/// reading that decodes the envelope and applies the writes the old way).
@Suite(.perTestTimeLimit) final class ShowStreamTests {
    let folder = TemporaryFolder()
    lazy var cache = folder.path("cache")

    func largeCache(invoices count: Int) throws -> URL {
        try Repository.sampleCache(at: cache, invoices: count, idPrefix: "inv_show")
    }

    func show(_ arguments: [String]) throws -> CommandResult {
        let result = try CommandRunner.b1cache(["show"] + arguments + ["--cache-dir", cache.path])
        #expect(result.status == 0, "show \(arguments): \(result.errorOutput)")
        return result
    }

    /// The items of `collection` as the whole tree shows them: decoded at once, the writes applied to that list.
    func shownTheOldWay(_ collection: CollectionName, withPending: Bool, syncState: Bool) throws -> [JSONValue] {
        let paths = CachePaths(root: cache)
        let url = paths.envelope(for: collection)
        var items = try Envelope.decode(Data(contentsOf: url), path: url.path).items
        let queue = WriteQueue(paths: paths)
        let pending = try queue.list(.pending).compactMap(\.write)
        let failed = try queue.list(.failed).compactMap(\.write)
        if withPending { items = PendingOverlay.apply(pending, to: items, collection: collection) }
        if syncState {
            items = SyncStateMarks.apply(pending: pending, failed: failed, to: items, collection: collection)
        }
        return items
    }

    @Test func everyLineIsWhatTheWholeTreeShowsWithAndWithoutTheWrites() throws {
        _ = try largeCache(invoices: 500)
        for collection in CollectionName.allCases {
            for (withPending, syncState) in [(false, false), (true, false), (false, true), (true, true)] {
                let flags = (withPending ? ["--with-pending"] : []) + (syncState ? ["--sync-state"] : [])
                let expected = try shownTheOldWay(collection, withPending: withPending, syncState: syncState)
                let lines = try show([collection.rawValue] + flags).lines
                #expect(lines == expected.map { JSONWriter.compactString($0) }, "\(collection.rawValue) \(flags)")
                // Each touched item, and one no write touches, by --id: the same line.
                let ids = expected.filter { $0["_pending"] != nil || $0["_sync"] != nil }.prefix(3) + expected.suffix(1)
                for item in ids {
                    let id = try #require(item["id"]?.stringValue)
                    let one = try show([collection.rawValue, "--id", id] + flags).lines
                    #expect(one == [JSONWriter.compactString(item)], "\(collection.rawValue) --id \(id) \(flags)")
                }
            }
        }
        // The sample queue touches these: the test would prove nothing if no item carried a mark.
        let marked = try shownTheOldWay(.missedBilling, withPending: true, syncState: true)
        #expect(marked.filter { $0["_pending"] != nil }.count == 3)
        #expect(try shownTheOldWay(.contracts, withPending: false, syncState: true).contains { $0["_sync"] != nil })
        let csv = try show(["invoices", "--csv", "--with-pending"])
        let table = try CSVTable(items: try shownTheOldWay(.invoices, withPending: true, syncState: false), fields: nil)
        #expect(
            Array(csv.output.utf8) == Array((table.header + CSVTable.lineEnd).utf8)
                + table.encodedRows(
                    try shownTheOldWay(.invoices, withPending: true, syncState: false)[...]))
    }

    @Test func aLargeCollectionIsShownInAboutItsFilesSizeAndOneItemWithoutTheRest() throws {
        _ = try largeCache(invoices: Stress.count(short: 20_000, long: 100_000))
        let url = cache.appendingPathComponent("collections/invoices.json")
        let bytes = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int ?? 0
        func measured(_ arguments: [String], _ name: String) throws -> MeasuredResult {
            let run = try CommandRunner.b1cacheMeasured(
                arguments + ["--cache-dir", cache.path], environment: [:], report: folder.path("\(name).report"))
            #expect(run.status == 0, "\(arguments): \(run.errorOutput)")
            return run
        }
        let baseline = try measured(["inspect"], "inspect").peakKilobytes * 1024  // reads no envelope
        // A client the added invoices (copies of the first) do not belong to: its picture is small.
        let invoices = try #require(
            try JSONParser.parse(
                Data(
                    contentsOf: Repository.sampleCache.appendingPathComponent(
                        "collections/invoices.json")))["items"]?.arrayValue)
        let other = try #require(
            invoices.compactMap { $0["clientId"]?.stringValue }.first { $0 != invoices.first?["clientId"]?.stringValue }
        )
        var figures: [String] = []
        for (name, arguments) in [
            ("show", ["show", "invoices"]), ("show --id", ["show", "invoices", "--id", "inv_show00042"]),
            ("show --csv", ["show", "invoices", "--csv", "--with-pending", "--sync-state"]),
            ("show --client", ["show", "--client", other, "--json"]),
        ] {
            let run = try measured(arguments, name)
            let above = Double(run.peakKilobytes * 1024 - baseline) / Double(bytes)
            // As a tree: 3.2× the file above the baseline (122 MB envelope, release build).
            #expect(above < 1.6, "\(name): \(above)× the \(bytes)-byte envelope above a run that reads none")
            figures.append("\(name) \(run.peakKilobytes / 1024) MB (\(String(format: "%.2f", above))× above)")
            if name == "show --id" {
                #expect(run.output.contains("\"inv_show00042\"") && run.result.lines.count == 1)
            }
        }
        Stress.record(
            "memory/show",
            "\(bytes / 1_000_000) MB invoices envelope: " + figures.joined(separator: ", ")
                + "; inspect \(baseline / 1_048_576) MB")
    }

    @Test func aCorruptEnvelopeAndAnUnknownFieldFailBeforeAnyLineIsPrinted() throws {
        _ = try largeCache(invoices: 10)
        let url = cache.appendingPathComponent("collections/invoices.json")
        let unknown = try CommandRunner.b1cache(
            ["show", "invoices", "--csv", "--fields", "id,totl", "--cache-dir", cache.path])
        #expect(unknown.status == 2 && unknown.output.isEmpty, "\(unknown.output)")
        #expect(unknown.errorOutput.contains("did you mean 'total'?"), "\(unknown.errorOutput)")
        var text = try Data(contentsOf: url)
        text.removeLast(40)  // a torn file: the last items and the closing brackets gone
        try text.write(to: url)
        for arguments in [["show", "invoices"], ["show", "invoices", "--id", "inv_show00001"]] {
            let result = try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path])
            #expect(result.status == 8 && result.output.isEmpty, "\(arguments): \(result.output)")
            #expect(result.errorOutput.contains(url.path), "\(arguments): \(result.errorOutput)")
        }
    }
}
