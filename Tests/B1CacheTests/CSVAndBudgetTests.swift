import B1Cache
import Foundation
import Testing

/// `show --csv` read back by python3's csv module, field by field against the JSON lines; and the storage budget:
/// a sync past a small one completes, warns with the largest collections, and removes nothing.
@Suite(.perTestTimeLimit) final class CSVAndBudgetTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment)
    }

    /// Reads the CSV with `csv.reader` and checks every cell against the JSON line of the same item: a string as it
    /// is, a number as its literal text, true/false, null and missing as empty, nested values as the same JSON.
    /// Prints what differs; exits 1 if anything does.
    static let compare = #"""
        import csv, json, sys
        class Num(str): pass
        rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8"), strict=True))
        raw = open(sys.argv[1], "rb").read()
        lines = [l for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
        items = [json.loads(l, parse_float=Num, parse_int=Num) for l in lines]
        plain = [json.loads(l) for l in lines]
        header, body = rows[0], rows[1:]
        problems = []
        if not raw.endswith(b"\r\n") or not raw.split(b"\n")[0].endswith(b"\r"):
            problems.append("lines must end in CRLF")
        if len(body) != len(items): problems.append(f"{len(body)} rows for {len(items)} items")
        wanted = sys.argv[3].split(",") if len(sys.argv) > 3 else None
        if wanted and header != wanted: problems.append(f"header {header} is not {wanted}")
        if not wanted and set(header) != set().union(*[i.keys() for i in items]): problems.append("columns differ")
        for row, item, parsed in zip(body, items, plain):
            for name, cell in zip(header, row):
                value = item.get(name)
                if value is None: ok = cell == ""
                elif isinstance(value, bool): ok = cell == ("true" if value else "false")
                elif isinstance(value, (dict, list)):
                    ok = json.loads(cell) == parsed[name]
                else: ok = cell == str(value)
                if not ok: problems.append(f"{item.get('id')}.{name}: {cell!r} vs {value!r}")
        print("\n".join(problems[:20]))
        sys.exit(1 if problems else 0)
        """#

    /// Runs `show` once with `--csv` and once without, and compares the two with python3.
    func expectCSVMatchesJSONLines(_ arguments: [String], fields: String? = nil) throws {
        let csv = try b1cache(["show"] + arguments + ["--csv"] + (fields.map { ["--fields", $0] } ?? []))
        #expect(csv.status == 0, "\(arguments): \(csv.errorOutput)")
        let lines = try b1cache(["show"] + arguments)
        #expect(lines.status == 0 && !lines.lines.isEmpty, "\(arguments)")
        let csvFile = folder.path("out-\(UUID().uuidString).csv"), jsonFile = folder.path("out.jsonl")
        try Data(csv.output.utf8).write(to: csvFile)
        try Data(lines.output.utf8).write(to: jsonFile)
        let script = folder.path("compare.py")
        try Data(Self.compare.utf8).write(to: script)
        let checked = try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", script.path, csvFile.path, jsonFile.path] + (fields.map { [$0] } ?? []))
        #expect(checked.status == 0, "\(arguments) \(fields ?? ""): \(checked.output)\(checked.errorOutput)")
    }

    @Test func csvReadBackByPythonEqualsTheJSONLinesFieldByField() throws {
        // One client item given a note that needs every kind of quoting, and a number written as 12.50.
        let clients = cache.appendingPathComponent("collections/clients.json")
        let edit = #"""
            import json, sys
            path = sys.argv[1]
            envelope = json.load(open(path, encoding="utf-8"))
            envelope["items"][0]["note"] = 'Line one, "quoted"\nline two\r\nend'
            envelope["items"][0]["price"] = "PRICE"
            text = json.dumps(envelope, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            open(path, "w", encoding="utf-8").write(text.replace('"PRICE"', '12.50'))
            """#
        let editor = folder.path("edit.py")
        try Data(edit.utf8).write(to: editor)
        let edited = try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", editor.path, clients.path])
        #expect(edited.status == 0, "\(edited.errorOutput)")
        #expect(try b1cache(["show", "clients", "--csv"]).output.contains(#""Line one, ""quoted""\#nline two"#))
        let price = try b1cache(["show", "clients", "--csv", "--fields", "price,id"]).output
        #expect(price.components(separatedBy: "\r\n")[1].hasPrefix("12.50,cl_"), "\(price)")

        try expectCSVMatchesJSONLines(["clients"])
        try expectCSVMatchesJSONLines(["invoices"])
        try expectCSVMatchesJSONLines(["missed-billing", "--with-pending", "--sync-state"])
        try expectCSVMatchesJSONLines(
            ["generated-invoices", "--with-pending"], fields: "number,status,lines,_pending,id")
        try expectCSVMatchesJSONLines(["--client", TriageCommandTests.client])
        try expectCSVMatchesJSONLines(["invoices", "--client", TriageCommandTests.client], fields: "number,amountDue")
    }

    /// Every file under `folder`, by relative path, with its bytes.
    func files(under folder: URL) throws -> [String: Data] {
        var all: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        where name.hasSuffix(".json") {
            all[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return all
    }

    @Test func aSyncPastASmallBudgetCompletesWarnsWithTheLargestCollectionsAndRemovesNothing() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let queue = try files(under: cache.appendingPathComponent("queue"))
        let failed = try files(under: cache.appendingPathComponent("failed"))
        #expect(queue.count == 3 && failed.count == 1)

        let result = try b1cache(
            ["sync", "--no-flush", "--budget", "50KB", "--json"], environment: server.environment())
        #expect(result.status == 0, "\(result.errorOutput)")
        let report = try JSONParser.parse(try #require(result.lines.last))
        let storage = try #require(report["storage"])
        #expect(storage["overBudget"] == .bool(true))
        #expect(storage["budgetBytes"] == 50_000)
        let largest = try #require(storage["collections"]?.arrayValue?.first?["collection"]?.stringValue)
        #expect(result.errorOutput.contains("b1cache: warning: the cache uses "))
        #expect(result.errorOutput.contains("of its 50 KB storage budget; largest: \(largest) "))
        #expect(result.errorOutput.contains("nothing was removed"))

        // Nothing evicted: every collection holds what the server holds; the writes are byte for byte as they were.
        for collection in CollectionName.allCases {
            let file = cache.appendingPathComponent("collections/\(collection.rawValue).json")
            #expect(Int(try CommandRunner.jq(".items | length", file)) == (try server.items(collection.rawValue)).count)
        }
        #expect(try files(under: cache.appendingPathComponent("queue")) == queue)
        #expect(try files(under: cache.appendingPathComponent("failed")) == failed)
        #expect(try server.ledger().isEmpty)

        // The writes' bytes are shown apart and never counted: used = every file but queue/ and failed/.
        var expectedUsed = 0
        let enumerator = FileManager.default.enumerator(atPath: cache.path)
        while let relative = enumerator?.nextObject() as? String {
            let values = try cache.appendingPathComponent(relative).resourceValues(forKeys: [
                .isRegularFileKey, .fileSizeKey,
            ])
            if values.isRegularFile == true, !relative.hasPrefix("queue/"), !relative.hasPrefix("failed/") {
                expectedUsed += values.fileSize ?? 0
            }
        }
        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json", "--budget", "50KB"]).output)
        #expect(inspect["storage"]?["usedBytes"]?.intValue == expectedUsed)
        #expect(
            inspect["storage"]?["writeBytes"]?.intValue
                == (queue.values.map(\.count) + failed.values.map(\.count)).reduce(0, +))
        let human = try b1cache(["inspect"], environment: ["B1CACHE_BUDGET": "50KB"])
        #expect(human.output.contains("of 50 KB ("))
        #expect(human.output.contains("over budget"))
        let status = try b1cache(["status"], environment: ["B1CACHE_BUDGET": "50KB"])
        #expect(status.output.contains("of 50 KB") && status.output.contains("over budget"))

        // Under the default budget the same sync says nothing about storage.
        let quiet = try b1cache(["sync", "--no-flush"], environment: server.environment())
        #expect(quiet.status == 0, "\(quiet.errorOutput)")
        #expect(!quiet.errorOutput.contains("storage budget"))
        // A bad budget is refused before anything is sent.
        let bad = try b1cache(["sync", "--budget", "-5MB"], environment: server.environment())
        #expect(bad.status == 2)
        #expect(bad.errorOutput.contains("--budget takes a size"))
        #expect(try files(under: cache.appendingPathComponent("queue")) == queue)
    }
}
