import B1Cache
import Foundation
import Testing

/// The triage reads of issue 16 through the binary on a copy of SampleCache: each item's sync state (`--sync-state`),
/// a client's whole picture (`show --client`), and the mistakes they refuse.
@Suite(.perTestTimeLimit) final class TriageCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    /// Harbourside Dental: items in every client collection, and write 3 of SampleCache applies two of its items.
    static let client = "cl_mwa62hgypj"
    static let failedWrite = "3c2e8a51-7d4f-4b9e-a0c6-5f1d2e9b8a47"

    func b1cache(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment)
    }

    func shown(_ arguments: [String]) throws -> [JSONValue] {
        let result = try b1cache(["show"] + arguments)
        #expect(result.status == 0, "\(result.errorOutput)")
        return try result.lines.map { try JSONParser.parse($0) }
    }

    func byId(_ items: [JSONValue]) -> [String: JSONValue] {
        var map: [String: JSONValue] = [:]
        for item in items { if let id = item["id"]?.stringValue { map[id] = item } }
        return map
    }

    /// Every file of the cache, by relative path, with its bytes.
    func files() throws -> [String: Data] {
        var all: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: cache.path)
        while let relative = enumerator?.nextObject() as? String {
            let url = cache.appendingPathComponent(relative)
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                all[relative] = try Data(contentsOf: url)
            }
        }
        return all
    }

    @Test func syncStateMarksAPendingAndAFailedWriteWithTheServersReasonAndNothingElse() throws {
        let before = try files()
        let failedFile = try #require(
            try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("failed").path).first)
        let reason = try CommandRunner.jq(".lastError", cache.appendingPathComponent("failed/\(failedFile)"))
        #expect(reason.hasPrefix("409"))

        let contracts = byId(try shown(["contracts", "--sync-state"]))
        let failed = try #require(contracts["ct_xeqg3xe8qd"]?["_sync"])
        #expect(failed["state"] == "failed")
        #expect(failed["error"]?.stringValue == reason)
        #expect(failed["writes"]?.arrayValue?.map { $0["id"] } == [.string(Self.failedWrite)])
        #expect(contracts.values.filter { $0["_sync"] != nil }.count == 1)

        let missed = byId(try shown(["missed-billing", "--sync-state"]))
        let snoozed = try #require(missed["mb_23x06ecjz4"]?["_sync"])
        #expect(snoozed["state"] == "pending")
        #expect(snoozed["error"] == .null)
        #expect(snoozed["writes"]?.arrayValue?.first?["id"] == "8f14e45f-ceea-4e67-b1a3-2d6c9b0e7f52")
        // Its last try's error: the write is still pending.
        #expect(snoozed["writes"]?.arrayValue?.first?["error"] == "503 service unavailable")
        #expect(
            Set(missed.filter { $0.value["_sync"] != nil }.keys) == ["mb_23x06ecjz4", "mb_314617jknt", "mb_zz3y5z07zw"])
        // The marks alone change nothing else; --with-pending alone keeps its meaning (effects and _pending only).
        #expect(missed["mb_23x06ecjz4"]?["status"] == "open")
        #expect(missed["mb_23x06ecjz4"]?["_pending"] == nil)
        let overlaid = byId(try shown(["missed-billing", "--with-pending"]))
        #expect(overlaid["mb_23x06ecjz4"]?["status"] == "snoozed")
        #expect(overlaid["mb_23x06ecjz4"]?["_sync"] == nil)
        let both = byId(try shown(["missed-billing", "--with-pending", "--sync-state"]))
        #expect(both["mb_23x06ecjz4"]?["status"] == "snoozed")
        #expect(both["mb_23x06ecjz4"]?["_sync"]?["state"] == "pending")
        #expect(try files() == before, "a read changed a file")

        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)
        #expect(inspect["itemStates"] == ["pending": 4, "failed": 1])
        let lines = inspect["collections"]?.arrayValue ?? []
        #expect(lines.first { $0["name"] == "contracts" }?["itemStates"] == ["pending": 0, "failed": 1])
        #expect(lines.first { $0["name"] == "missed-billing" }?["itemStates"] == ["pending": 3, "failed": 0])
        let status = try JSONParser.parse(try b1cache(["status", "--json"]).output)
        #expect(status["itemStates"] == ["pending": 4, "failed": 1])
    }

    @Test func aRetriedFailedWriteTurnsItsItemPendingAndANewWriteMarksAnUntouchedItem() throws {
        #expect(try b1cache(["retry", String(Self.failedWrite.prefix(8))]).status == 0)
        let queued = try b1cache([
            "enqueue", "missed-billing.action", "--payload",
            #"{"itemId":"mb_f3rqrj23s7","action":"ignore"}"#,
        ])
        #expect(queued.status == 0, "\(queued.errorOutput)")
        let contract = try #require(byId(try shown(["contracts", "--sync-state"]))["ct_xeqg3xe8qd"]?["_sync"])
        #expect(contract["state"] == "pending")
        #expect(contract["error"] == .null)
        #expect(contract["writes"]?.arrayValue?.count == 1)
        // retry queues it under a new id
        #expect(contract["writes"]?.arrayValue?.first?["id"] != .string(Self.failedWrite))
        let item = try #require(byId(try shown(["missed-billing", "--sync-state"]))["mb_f3rqrj23s7"])
        #expect(item["_sync"]?["writes"]?.arrayValue?.first?["kind"] == "missed-billing.action")
        let inspect = try JSONParser.parse(try b1cache(["inspect", "--json"]).output)
        #expect(inspect["itemStates"] == ["pending": 6, "failed": 0])
    }

    @Test func theClientsPictureHoldsExactlyTheItemsJqFindsByTheDocumentedClientFields() throws {
        let lines = try shown(["--client", Self.client])
        for (collection, field) in ClientPicture.clientFields {
            let file = cache.appendingPathComponent("collections/\(collection.rawValue).json")
            let expected = try CommandRunner.jq(
                "[.items[] | select(.\(field) == \"\(Self.client)\") | .id] | join(\" \")", file)
            let got = lines.filter { $0["_collection"] == .string(collection.rawValue) }.compactMap {
                $0["id"]?.stringValue
            }
            #expect(!got.isEmpty, "\(collection): the client should have items in every collection")
            #expect(got.joined(separator: " ") == expected, "\(collection)")
            // The one-collection form filters the same way, and keeps the items untagged.
            let one = try shown([collection.rawValue, "--client", Self.client])
            #expect(one.compactMap { $0["id"]?.stringValue } == got)
            #expect(one.allSatisfy { $0["_collection"] == nil })
        }
        #expect(lines.first?["_collection"] == "clients")
        // With the overlay and the marks: write 3 applies both of the client's missed-billing items.
        for item in lines where item["_collection"] == "missed-billing" {
            #expect(item["status"] == "applied")
            #expect(item["_sync"]?["state"] == "pending")
        }
    }

    @Test func theSummaryShowsTheClientsFiguresAsJqComputesThem() throws {
        let contracts = cache.appendingPathComponent("collections/contracts.json")
        let mrr = try CommandRunner.jq(
            "[.items[] | select(.clientId == \"\(Self.client)\" and .status == \"active\") | .lines[]"
                + " | select(.status == \"active\") | .quantity * .unitPrice] | add * 100 | round", contracts)
        let cents = try #require(Int(mrr))
        let expected = String(format: "NZD %d,%03d.%02d", cents / 100_000, (cents / 100) % 1000, cents % 100)
        let drafts = try CommandRunner.jq(
            "[.items[] | select(.clientId == \"\(Self.client)\" and .status == \"draft\")] | length",
            cache.appendingPathComponent("collections/generated-invoices.json"))
        let result = try b1cache(["show", "--client", Self.client, "--summary"])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.hasPrefix("Harbourside Dental Ltd  \(Self.client) · active"))
        #expect(result.output.contains("MRR") && result.output.contains(expected), "\(expected)\n\(result.output)")
        #expect(result.output.contains("\(drafts) generated invoice"))
        #expect(result.output.contains("Open missed billing") && result.output.contains("0 items a month"))
        #expect(result.output.contains("Pending writes  1\n  5e7b2c90  missed-billing.apply"))
        #expect(!result.output.contains("\u{1B}["))
    }

    /// `show` with stdout on a pseudo-terminal (python's `pty`): what a person at a terminal sees.
    func onATerminal(_ arguments: [String]) throws -> CommandResult {
        let script = """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            p = subprocess.Popen(sys.argv[1:], stdout=slave, stderr=subprocess.DEVNULL)
            os.close(slave)
            seen = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            sys.stdout.write(seen.decode(errors="replace").replace("\\r\\n", "\\n"))
            sys.exit(p.wait())
            """
        return try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", script, CommandRunner.binary.path, "show"] + arguments + ["--cache-dir", cache.path],
            environment: ["NO_COLOR": "1"])
    }

    @Test func onATerminalThePictureIsASummaryAndJsonStillGivesTheLines() throws {
        let summary = try onATerminal(["--client", Self.client])
        #expect(summary.status == 0)
        #expect(summary.output.hasPrefix("Harbourside Dental Ltd  \(Self.client)"), "\(summary.output)")
        #expect(summary.output.contains("\nMRR "))
        #expect(summary.output.contains("\nDrafts to approve "))
        #expect(!summary.output.contains("{\""))
        let lines = try onATerminal(["--client", Self.client, "--json"])
        #expect(lines.status == 0)
        let parsed = try lines.lines.map { try JSONParser.parse($0) }
        #expect(parsed == (try shown(["--client", Self.client])))
        #expect(parsed.allSatisfy { $0["_collection"]?.stringValue != nil })
    }

    @Test func mistakesAreRefusedWithTheirExitCodeAndAHint() throws {
        let unknown = try b1cache(["show", "--client", "harbourside"])
        #expect(unknown.status == 1)
        #expect(unknown.errorOutput.contains("b1cache: error: no client with id 'harbourside' in the cache"))
        #expect(unknown.errorOutput.contains("hint: did you mean \(Self.client) (Harbourside Dental Ltd)?"))
        let asJSON = try b1cache(["show", "--client", "cl_nobody", "--json"])
        #expect(asJSON.status == 1)
        #expect(try JSONParser.parse(asJSON.output)["error"]?["code"] == "failure")
        let field = try b1cache(["show", "invoices", "--csv", "--fields", "number,totl"])
        #expect(field.status == 2)
        #expect(field.errorOutput.contains("--fields: no item has a field 'totl'"))
        #expect(field.errorOutput.contains("did you mean 'total'?"))
        #expect(field.output.isEmpty)
        let refusals: [[String]] = [
            ["show", "invoices", "--fields", "id"],  // --fields without --csv
            ["show", "--client", Self.client, "--csv", "--summary"],
            ["show", "--client", Self.client, "--csv", "--json"],
            ["show", "invoices", "--summary"],
            ["show", "dashboard", "--client", Self.client],
            ["show", "invoices", "--csv", "--fields", "id,,total"],
            ["show", "--client", ""],
            ["show", "--client", Self.client, "--id", "inv_x"],
        ]
        for arguments in refusals {
            let result = try b1cache(arguments)
            #expect(result.status == 2, "\(arguments): \(result.errorOutput)")
            #expect(result.errorOutput.hasPrefix("b1cache: error: "), "\(arguments)")
            // Nothing but, with --json, the error object of a failing command.
            #expect(result.output.isEmpty || result.output.hasPrefix(#"{"error":{"code":"usage""#), "\(arguments)")
        }
        let budget = try b1cache(["inspect", "--budget", "lots"])
        #expect(budget.status == 2)
        #expect(budget.errorOutput.contains("--budget takes a size such as 100MB"))
        let environment = try b1cache(["status"], environment: ["B1CACHE_BUDGET": "0"])
        #expect(environment.status == 2)
        #expect(environment.errorOutput.contains("B1CACHE_BUDGET takes a size"))
    }
}
