import B1Cache
import Foundation
import Testing

/// Ids from SampleCache (docs/sample-cache.md).
enum Sample {
    static let openItem = "mb_f3rqrj23s7"
    static let snoozedByQueue = "mb_23x06ecjz4"
    static let appliedByQueue = ["mb_314617jknt", "mb_zz3y5z07zw"]
    static let draftInvoice = "gi_3d523xa4gb", draftInvoiceLine = "gil_3rhdp5et8w"
    static let approvedInvoice = "gi_2kpkcenr2t", approvedInvoiceLine = "gil_kkvym04yxg"
    static let contractWithDraftLine = "ct_z8znb2ce29", draftContractLine = "ctl_ptjqy15w59"
    static let activeOnlyContract = "ct_21k9jaar0s"
    static let mappingContract = "ct_yms4d6dmx6"
}

@Suite(.perTestTimeLimit) final class EnqueueCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], input: Data? = nil, umask: String? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], input: input, umask: umask)
    }

    func queueFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("queue").path)
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    static let valid: [(String, String)] = [
        (
            "missed-billing.action",
            #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"2099-01-01T00:00:00Z"}"#
        ),
        (
            "missed-billing.apply",
            #"{"itemIds":["\#(Sample.openItem)"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(Sample.draftInvoiceLine)","taxCode":"OUTPUT2","taxRate":15}"#
        ),
        (
            "contract.line-tax",
            #"{"contractId":"\#(Sample.contractWithDraftLine)","lineId":"\#(Sample.draftContractLine)","taxCode":"EXEMPTOUTPUT","taxRate":0}"#
        ),
    ]

    @Test func oneEnqueueOfEachKindSucceedsAndFilesAre0600UnderUmask000() throws {
        let before = try queueFiles()
        for (kind, payload) in Self.valid {
            let result = try b1cache(["enqueue", kind, "--payload", payload], umask: "000")
            #expect(result.status == 0, "\(kind): \(result.errorOutput)")
            #expect(result.output.hasPrefix("Queued \(kind) "))
        }
        let added = try queueFiles().filter { !before.contains($0) }
        #expect(added.count == 4)
        for name in added {
            let url = cache.appendingPathComponent("queue/\(name)")
            let write = try PendingWrite.decode(try Data(contentsOf: url), path: url.path)
            #expect(name.contains(write.id))
            #expect(
                (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int).map {
                    $0 & 0o777
                } == 0o600)
        }
    }

    static let invalid: [(kind: String, payload: String, message: String)] = [
        ("invoice.push", "{}", "'invoice.push' needs a connection"),
        ("oauth.connect", "{}", "'oauth.connect' needs a connection"),
        (
            "marketplace.install", "{}",
            "needs a connection and cannot be queued offline; the kinds that can be queued are: missed-billing.action"
        ),
        ("frobnicate", "{}", "unknown write kind 'frobnicate'; the kinds that can be queued offline are"),
        (
            "missed-billing.actoin", "{}",
            "unknown write kind 'missed-billing.actoin'; did you mean 'missed-billing.action'?"
        ),
        ("missed-billing.action", "{not json", "--payload is not valid JSON"),
        ("missed-billing.action", "[1,2]", "'payload' must be a JSON object, not an array"),
        ("missed-billing.action", #"{"action":"ignore"}"#, "'itemId' is required"),
        ("missed-billing.action", #"{"itemId":42,"action":"ignore"}"#, "'itemId' must be a string, not a number"),
        (
            "missed-billing.action", #"{"itemId":"\#(Sample.openItem)","action":"delete"}"#,
            "'action' must be one of snooze, ignore, mark-reviewed"
        ),
        ("missed-billing.action", #"{"itemId":"\#(Sample.openItem)","action":"snooze"}"#, "'snoozeUntil' is required"),
        (
            "missed-billing.action",
            #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"2001-01-01T00:00:00Z"}"#,
            "'snoozeUntil' must be in the future"
        ),
        (
            "missed-billing.action",
            #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"next tuesday"}"#,
            "'snoozeUntil' must be an ISO 8601 date and time"
        ),
        (
            "missed-billing.action",
            #"{"itemId":"\#(Sample.openItem)","action":"ignore","snoozeUntil":"2099-01-01T00:00:00Z"}"#,
            "'snoozeUntil' is only for action 'snooze'"
        ),
        (
            "missed-billing.action", #"{"itemId":"mb_nope","action":"ignore"}"#,
            "'itemId': no missed-billing item 'mb_nope' in the cache"
        ),
        (
            "missed-billing.action", #"{"itemId":"\#(Sample.openItem)","action":"ignore","colour":"red"}"#,
            "'colour' is not part of this kind's payload"
        ),
        (
            "missed-billing.apply", #"{"itemIds":[],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#,
            "'itemIds' must hold 1 to 500 ids, not 0"
        ),
        (
            "missed-billing.apply",
            #"{"itemIds":"\#(Sample.openItem)","mapping":{"contractId":"\#(Sample.mappingContract)"}}"#,
            "'itemIds' must be an array of ids, not a string"
        ),
        (
            "missed-billing.apply",
            #"{"itemIds":[\#((0..<501).map { "\"i\($0)\"" }.joined(separator: ","))],"mapping":{"contractId":"x"}}"#,
            "must hold 1 to 500 ids, not 501"
        ),
        (
            "missed-billing.apply",
            #"{"itemIds":["\#(Sample.openItem)","\#(Sample.openItem)"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#,
            "'itemIds[1]' repeats"
        ),
        ("missed-billing.apply", #"{"itemIds":["\#(Sample.openItem)"]}"#, "'mapping' is required"),
        (
            "missed-billing.apply", #"{"itemIds":["\#(Sample.openItem)"],"mapping":{}}"#,
            "'mapping.contractId' is required"
        ),
        (
            "missed-billing.apply", #"{"itemIds":["\#(Sample.openItem)"],"mapping":{"contractId":"ct_nope"}}"#,
            "'mapping.contractId': no contracts item 'ct_nope'"
        ),
        (
            "missed-billing.apply",
            #"{"itemIds":["\#(Sample.openItem)","mb_ghost"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#,
            "'itemIds[1]': no missed-billing item 'mb_ghost'"
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(Sample.draftInvoiceLine)","taxCode":"OUTPUT2","taxRate":"15"}"#,
            "'taxRate' must be a number, not a string"
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(Sample.draftInvoiceLine)","taxCode":"OUTPUT2","taxRate":150}"#,
            "'taxRate' must be between 0 and 100"
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(Sample.draftInvoiceLine)","taxCode":"OUTPUT2","taxRate":-1}"#,
            "'taxRate' must be between 0 and 100"
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"\#(Sample.draftInvoiceLine)","taxRate":15}"#,
            "'taxCode' is required"
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.approvedInvoice)","lineId":"\#(Sample.approvedInvoiceLine)","taxCode":"OUTPUT2","taxRate":15}"#,
            "generated invoice is 'approved'"
        ),
        (
            "generated-invoice.line-tax",
            #"{"invoiceId":"\#(Sample.draftInvoice)","lineId":"gil_nope","taxCode":"OUTPUT2","taxRate":15}"#,
            "has no line 'gil_nope'"
        ),
        (
            "generated-invoice.line-tax", #"{"invoiceId":"gi_nope","lineId":"x","taxCode":"OUTPUT2","taxRate":15}"#,
            "no generated-invoices item 'gi_nope'"
        ),
        (
            "contract.line-tax",
            #"{"contractId":"\#(Sample.activeOnlyContract)","lineId":"LINE","taxCode":"OUTPUT2","taxRate":15}"#,
            "has no line 'LINE'"
        ),
        (
            "contract.line-tax",
            #"{"contractId":"\#(Sample.contractWithDraftLine)","lineId":"\#(Sample.draftContractLine)","taxCode":"","taxRate":15}"#,
            "'taxCode' must be a non-empty id"
        ),
    ]

    @Test func everyBadPayloadExits2WithItsOwnMessageAndLeavesTheQueueUnchanged() throws {
        #expect(Self.invalid.count >= 20)
        let before = try queueFiles()
        var messages = Set<String>()
        for (kind, payload, message) in Self.invalid {
            let result = try b1cache(["enqueue", kind, "--payload", payload])
            #expect(result.status == 2, "\(kind) \(payload)")
            #expect(result.errorOutput.contains(message), "\(kind) \(payload): \(result.errorOutput)")
            messages.insert(result.errorOutput)
        }
        #expect(messages.count == Self.invalid.count)
        #expect(try queueFiles() == before)
    }

    @Test func aContractLineThatIsNotADraftIsRefused() throws {
        let contracts = try CacheStore(paths: CachePaths(root: cache)).envelope(for: .contracts)
        let active = try #require(
            contracts?.items.lazy.compactMap { contract -> (String, String)? in
                guard let line = contract["lines"]?.arrayValue?.first(where: { $0["status"] == "active" }) else {
                    return nil
                }
                return (contract["id"]?.stringValue ?? "", line["id"]?.stringValue ?? "")
            }.first)
        let result = try b1cache([
            "enqueue", "contract.line-tax", "--payload",
            #"{"contractId":"\#(active.0)","lineId":"\#(active.1)","taxCode":"OUTPUT2","taxRate":15}"#,
        ])
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("contract line is 'active', not a draft"))
    }

    @Test func aMissedBillingItemAlreadyAppliedTakesNoMoreActions() throws {
        let store = CacheStore(paths: CachePaths(root: cache))
        var envelope = try #require(try store.envelope(for: .missedBilling))
        let index = try #require(envelope.items.firstIndex { $0["id"]?.stringValue == Sample.openItem })
        var item = try #require(envelope.items[index].objectValue)
        item["status"] = "applied"
        envelope.items[index] = .object(item)
        try store.replaceEnvelope(envelope)
        let before = try snapshotFiles(under: cache.appendingPathComponent("queue"))
        for (kind, payload) in Self.valid.prefix(2) {
            let result = try b1cache(["enqueue", kind, "--payload", payload])
            #expect(result.status == 2)
            #expect(
                result.errorOutput.contains("missed-billing item '\(Sample.openItem)' was already applied"),
                "\(result.errorOutput)")
        }
        #expect(try snapshotFiles(under: cache.appendingPathComponent("queue")) == before)
    }

    @Test func aNewerTaxEditOfTheSameLineReplacesThePendingOneAndSaysSo() throws {
        let (kind, payload) = Self.valid[2]
        let first = try b1cache(["enqueue", kind, "--payload", payload, "--json"])
        let firstId = try #require(try JSONParser.parse(first.output)["id"]?.stringValue)
        let second = try b1cache(["enqueue", kind, "--payload", payload.replacingOccurrences(of: "15}", with: "10}")])
        #expect(second.output.contains("replaces pending write \(firstId)"))
        #expect(try queueFiles().filter { $0.contains(firstId) }.isEmpty)
        let shown = try b1cache(["show", "generated-invoices", "--id", Sample.draftInvoice, "--with-pending"])
        let line = try JSONParser.parse(shown.output)["lines"]?.arrayValue?.first {
            $0["id"] == .string(Sample.draftInvoiceLine)
        }
        #expect(line?["taxRate"] == 10)
    }

    @Test func anActionAfterAPendingApplyOfTheItemIsRefusedAndReplacesNothing() throws {
        let snooze = #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"2099-01-01T00:00:00Z"}"#
        let apply = #"{"itemIds":["\#(Sample.openItem)"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#
        #expect(try b1cache(["enqueue", "missed-billing.action", "--payload", snooze]).status == 0)
        let applied = try b1cache(["enqueue", "missed-billing.apply", "--payload", apply, "--json"])
        #expect(applied.status == 0)
        let applyId = try #require(try JSONParser.parse(applied.output)["id"]?.stringValue)
        let before = try snapshotFiles(under: cache.appendingPathComponent("queue"))
        // The server answers 409 to anything after the apply: refused at enqueue, judged against the overlay.
        for (kind, payload) in [
            ("missed-billing.action", #"{"itemId":"\#(Sample.openItem)","action":"ignore"}"#),
            ("missed-billing.apply", apply),
        ] {
            let refused = try b1cache(["enqueue", kind, "--payload", payload])
            #expect(refused.status == 2)
            #expect(
                refused.errorOutput.contains(
                    "missed-billing item '\(Sample.openItem)' is applied by pending write \(applyId)"),
                "\(refused.errorOutput)")
            #expect(refused.errorOutput.contains("hint: if that apply was a mistake, 'b1cache drop \(applyId)' first"))
        }
        #expect(try snapshotFiles(under: cache.appendingPathComponent("queue")) == before)
        #expect(try queueFiles().count == 5)
    }

    @Test func theOverlayMarksEveryTouchedItemAndLeavesTheEnvelopeAlone() throws {
        let envelope = cache.appendingPathComponent("collections/missed-billing.json")
        let before = try Data(contentsOf: envelope)
        let overlaid = try b1cache(["show", "missed-billing", "--with-pending"])
        let items = try overlaid.lines.map { try JSONParser.parse($0) }
        let touched = items.filter { $0["_pending"] != nil }
        #expect(
            Set(touched.compactMap { $0["id"]?.stringValue }) == Set([Sample.snoozedByQueue] + Sample.appliedByQueue))
        #expect(items.first { $0["id"] == .string(Sample.snoozedByQueue) }?["status"] == "snoozed")
        for id in Sample.appliedByQueue { #expect(items.first { $0["id"] == .string(id) }?["status"] == "applied") }
        let plain = try b1cache(["show", "missed-billing"])
        #expect(!plain.output.contains("_pending"))
        #expect(try Data(contentsOf: envelope) == before)
    }

    @Test func aBatchIsAllOrNothing() throws {
        let good = Self.valid.map { #"{"kind":"\#($0.0)","payload":\#($0.1)}"# }
        let bad = good + [#"{"kind":"missed-billing.action","payload":{"itemId":"mb_nope","action":"ignore"}}"#]
        let before = try queueFiles()
        let refused = try b1cache(["enqueue", "--batch", "-"], input: Data(bad.joined(separator: "\n").utf8))
        #expect(refused.status == 2)
        #expect(refused.errorOutput.contains("batch line 5"))
        #expect(try queueFiles() == before)
        let accepted = try b1cache(["enqueue", "--batch", "-"], input: Data(good.joined(separator: "\n").utf8))
        #expect(accepted.status == 0, "\(accepted.errorOutput)")
        #expect(try queueFiles().count == before.count + 4)
    }

    @Test func queueListShowAndDrop() throws {
        let listed = try b1cache(["queue", "--json"])
        #expect(listed.lines.count == 3)
        let id = try #require(try JSONParser.parse(listed.lines[0])["id"]?.stringValue)
        let shown = try b1cache(["queue", "show", String(id.prefix(8))])
        #expect(try JSONParser.parse(shown.output)["id"] == .string(id))
        let dropped = try b1cache(["drop", id])
        #expect(dropped.status == 0)
        #expect(dropped.output.contains(id))
        #expect(try b1cache(["queue", "--json"]).lines.count == 2)
        #expect(try b1cache(["drop", id]).status == 2)
        #expect(try b1cache(["queue", "--failed", "--json"]).lines.count == 1)
    }

    @Test func anUnreadableWriteFileIsSkippedWithAWarningAndVerifyQuarantinesIt() throws {
        let bad = cache.appendingPathComponent("queue/20261121T190000.000000Z-000001-broken.json")
        try Data("{\"format\": \"b1cache.write\", \"id\": ".utf8).write(to: bad)
        let listed = try b1cache(["queue"])
        #expect(listed.status == 0)
        #expect(listed.errorOutput.contains("skipping unreadable write file"))
        #expect(listed.lines.count == 4)
        let verify = try b1cache(["verify"])
        #expect(verify.status == 8)
        #expect(verify.output.contains(bad.path))
        let repair = try b1cache(["verify", "--repair"])
        #expect(repair.status == 0, "\(repair.output)")
        #expect(!FileManager.default.fileExists(atPath: bad.path))
        let quarantined = try FileManager.default.contentsOfDirectory(
            atPath: cache.appendingPathComponent("quarantine").path)
        #expect(quarantined.count == 1 && quarantined[0].hasSuffix("queue__20261121T190000.000000Z-000001-broken.json"))
        #expect(try b1cache(["verify"]).status == 0)
    }

    @Test func reEncodingAWriteFileKeepsItByteIdentical() throws {
        let name = try #require(try queueFiles().first)
        let original = try String(contentsOf: cache.appendingPathComponent("queue/\(name)"), encoding: .utf8)
        let id = try #require(WriteFileName(fileName: name)?.id)
        #expect(try b1cache(["queue", "show", id]).output == original)
    }

    @Test func anExportedWriteKeepsItsIdOnReimportButNeverDuplicatesOne() throws {
        let export = folder.path("export.jsonl")
        let other = folder.path("other")
        _ = try Repository.copySampleCache(to: other)
        #expect(
            try CommandRunner.b1cache(["sign-out", "--export-pending", export.path, "--cache-dir", other.path]).status
                == 0)
        let refused = try b1cache(["enqueue", "--batch", export.path])
        #expect(refused.status == 2)
        #expect(refused.errorOutput.contains("is already queued"))
        for name in try queueFiles() {
            try FileManager.default.removeItem(at: cache.appendingPathComponent("queue/\(name)"))
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("failed").path) {
            try FileManager.default.removeItem(at: cache.appendingPathComponent("failed/\(name)"))
        }
        let accepted = try b1cache(["enqueue", "--batch", export.path, "--json"])
        #expect(accepted.status == 0, "\(accepted.errorOutput)")
        let exportedIds = try String(contentsOf: export, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { try JSONParser.parse(String($0))["id"]?.stringValue ?? "" }
        let queuedIds = try accepted.lines.map { try JSONParser.parse($0)["id"]?.stringValue ?? "" }
        #expect(Set(queuedIds) == Set(exportedIds))
    }
}
