import B1Cache
import Foundation
import Testing

/// Messages that say what is wrong and what to do, not something near it (issue 11 items 7 and 10).
@Suite final class MessageTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], input: Data? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], input: input)
    }

    /// The sample queue's first write (docs/sample-cache.md).
    static let sampleWrite = "8f14e45f-ceea-4e67-b1a3-2d6c9b0e7f52"

    @Test func aMisspeltKindIsUnknownWithASuggestionNotOneThatNeedsAConnection() throws {
        let result = try b1cache(["enqueue", "missed-billing.actoin", "--payload", "{}"])
        #expect(result.status == 2)
        #expect(
            result.errorOutput.hasPrefix(
                "b1cache: error: unknown write kind 'missed-billing.actoin'; "
                    + "did you mean 'missed-billing.action'?"))
        #expect(!result.errorOutput.contains("needs a connection"))
        let online = try b1cache(["enqueue", "invoice-run.generate", "--payload", "{}"])
        #expect(online.errorOutput.contains("'invoice-run.generate' needs a connection and cannot be queued offline"))
    }

    @Test func aTaxRateNoNumberHoldsIsOutOfRangeAsTyped() throws {
        for rate in ["1e400", "-1e400", "100.0000001"] {
            let payload =
                #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(Sample.draftInvoiceLine)","taxCode":"OUTPUT2","taxRate":\#(rate)}"#
            let result = try b1cache(["enqueue", "generated-invoice.line-tax", "--payload", payload])
            #expect(result.status == 2)
            #expect(
                result.errorOutput.contains("payload field 'taxRate' must be between 0 and 100, not \(rate)"),
                "\(result.errorOutput)")
            #expect(!result.errorOutput.contains("not a number"))
        }
    }

    @Test func anIdPrefixMustBeUnambiguousAndAtLeast8Characters() throws {
        // Two writes whose ids share their first 9 characters (kept ids, as an export re-queues them).
        let edits = [Sample.draftInvoiceLine, "gil_rtyb65wwft"].enumerated().map { index, line in
            #"{"id":"abcdefghi-\#(index)","kind":"generated-invoice.line-tax","payload":{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(line)","taxCode":"OUTPUT2","taxRate":15}}"#
        }
        #expect(try b1cache(["enqueue", "--batch", "-"], input: Data(edits.joined(separator: "\n").utf8)).status == 0)
        let before = try snapshotFiles(under: cache)
        for command in [["queue", "show"], ["drop"], ["retry"]] {
            let ambiguous = try b1cache(command + ["abcdefgh"])
            #expect(ambiguous.status == 2)
            #expect(
                ambiguous.errorOutput == "b1cache: error: 'abcdefgh' matches 2 writes; give more of the id\n"
                    + "hint: list the ids with 'b1cache queue' (and 'b1cache queue --failed')\n", "\(command)")
            for short in ["e", "8", "8f14e45", ""] {
                let refused = try b1cache(command + [short])
                #expect(refused.status == 2, "\(command) '\(short)'")
                #expect(
                    !refused.errorOutput.contains("payload field") && !refused.errorOutput.contains("enqueue --help"))
                if !short.isEmpty {
                    #expect(
                        refused.errorOutput.contains(
                            "'\(short)' is too short to name a write; give the whole id or at "
                                + "least its first 8 characters"), "\(refused.errorOutput)")
                }
            }
        }
        #expect(try snapshotFiles(under: cache) == before)
        #expect(try b1cache(["queue", "show", "abcdefghi-1"]).status == 0)
        #expect(try b1cache(["queue", "show", String(Self.sampleWrite.prefix(8))]).status == 0)
        let dropped = try b1cache(["drop", String(Self.sampleWrite.prefix(8))])
        #expect(dropped.status == 0)
        #expect(dropped.output.contains(Self.sampleWrite))
    }

    @Test func anEmptyTokenFileSaysSo() throws {
        for content in ["", " \n\n"] {
            let file = folder.path("token-\(content.count)")
            try Data(content.utf8).write(to: file)
            let result = try b1cache(["flush", "--server", "http://127.0.0.1:9", "--token-file", file.path])
            #expect(result.status == 2)
            #expect(result.errorOutput.contains("--token-file: \(file.path) is empty"), "\(result.errorOutput)")
            #expect(!result.errorOutput.contains("no token"))
        }
    }

    @Test func logDashN0PrintsNoEntryAndDoesNotClaimNothingWasFlushed() throws {
        #expect(try b1cache(["log", "-n", "0"]).output == "Nothing flushed yet.\n")
        let write = PendingWrite(kind: .missedBillingAction, payload: ["itemId": "mb_x", "action": "ignore"])
        try History(paths: CachePaths(root: cache)).append([History.entry(write, result: "applied")])
        let none = try b1cache(["log", "-n", "0"])
        #expect(none.status == 0)
        #expect(none.output.isEmpty)
        #expect(try b1cache(["log", "-n", "0", "--json"]).output.isEmpty)
        #expect(try b1cache(["log", "-n", "1"]).output.contains(write.id))
    }

    @Test func batchErrorsNamePhysicalLinesWithBlankLinesCounted() throws {
        let good =
            #"{"kind":"missed-billing.action","payload":{"itemId":"\#(Sample.openItem)","action":"mark-reviewed"}}"#
        let cases: [([String], String)] = [
            (
                [
                    good, "", "   ",
                    #"{"kind":"missed-billing.action","payload":{"itemId":"mb_nope","action":"ignore"}}"#,
                ],
                "batch line 4: payload field 'itemId': no missed-billing item 'mb_nope'"
            ),
            (["", "", "{not json"], "batch line 3: not valid JSON"),
            (["", good, #"{"kind":"missed-billing.action"}"#], "batch line 3: needs a 'payload' object"),
            (["", "", #"{"kind":"frobnicate","payload":{}}"#], "batch line 3: unknown write kind 'frobnicate'"),
            (
                [
                    "",
                    #"{"id":"\#(Self.sampleWrite)","kind":"missed-billing.action","payload":{"itemId":"\#(Sample.openItem)","action":"ignore"}}"#,
                ],
                "batch line 2: write \(Self.sampleWrite) is already queued"
            ),
            (
                [#"{"kind":"missed-billing.action","payload":{"itemId":42,"action":"ignore"}}"#],
                "batch line 1: payload field 'itemId' must be a string"
            ),
        ]
        let before = try snapshotFiles(under: cache)
        for (lines, message) in cases {
            let result = try b1cache(["enqueue", "--batch", "-"], input: Data(lines.joined(separator: "\n").utf8))
            #expect(result.status == 2)
            #expect(result.errorOutput.contains(message), "\(result.errorOutput)")
        }
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func aMisspeltCommandGetsASuggestion() throws {
        let typo = try b1cache(["stauts"])
        #expect(typo.status == 2)
        #expect(typo.errorOutput.hasPrefix("b1cache: error: unknown command 'stauts'; did you mean 'status'?"))
        let far = try b1cache(["frobnicate"])
        #expect(far.status == 2)
        #expect(far.errorOutput.hasPrefix("b1cache: error: unknown command 'frobnicate'\n"))
    }

    @Test func showHelpsExampleIdsExistInSampleCache() throws {
        let help = try b1cache(["show", "--help"]).output
        let examples = help.split(separator: "\n").filter {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("b1cache show ") && $0.contains(" --id ")
        }
        #expect(!examples.isEmpty)
        for example in examples {
            let words = example.split(separator: " ").map(String.init)
            let collection = try #require(words.firstIndex(of: "show").map { words[$0 + 1] })
            let id = try #require(words.firstIndex(of: "--id").map { words[$0 + 1] })
            let shown = try b1cache(["show", collection, "--id", id])
            #expect(shown.status == 0, "\(example): \(shown.errorOutput)")
        }
    }

    /// The README's queue one-liner, run as written by /bin/sh, on the sample queue and on an empty one.
    @Test func theReadmesQueueOneLinerWorksOnAnEmptyQueue() throws {
        let readme = try String(contentsOf: Repository.root.appendingPathComponent("README.md"), encoding: .utf8)
        let line = try #require(
            readme.split(separator: "\n").first { $0.contains("queue/*.json") && $0.contains("jq -s") })
        func run(_ root: URL) throws -> JSONValue {
            let result = try CommandRunner.run(
                URL(fileURLWithPath: "/bin/sh"), ["-c", "cache='\(root.path)'; " + line])
            #expect(result.status == 0, "\(line): \(result.errorOutput)")
            return try JSONParser.parse(result.output)
        }
        let sample = try run(cache)
        #expect(sample.arrayValue?.compactMap { $0["id"]?.stringValue }.first == Self.sampleWrite)
        #expect(sample.arrayValue?.count == 3)
        let empty = folder.path("empty")
        try FileManager.default.createDirectory(
            at: empty.appendingPathComponent("queue"), withIntermediateDirectories: true)
        #expect(try run(empty) == .array([]))
        #expect(try run(folder.path("never-synced")) == .array([]))
    }
}
