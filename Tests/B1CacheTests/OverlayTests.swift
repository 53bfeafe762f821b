import B1Cache
import Foundation
import Testing

/// `show --with-pending` shows the items as the server will return them once the pending writes are applied: the
/// recomputed tax amounts and totals, and no effect for a write the server will refuse (docs/WRITES.md §4).
@Suite final class OverlayTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], environment: [String: String] = [:], input: Data? = nil) throws -> CommandResult
    {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment, input: input)
    }

    func items(_ collection: String, withPending: Bool = false) throws -> [String: JSONValue] {
        let result = try b1cache(["show", collection] + (withPending ? ["--with-pending"] : []))
        var byId: [String: JSONValue] = [:]
        for line in result.lines {
            let item = try JSONParser.parse(line)
            if let id = item["id"]?.stringValue { byId[id] = item }
        }
        return byId
    }

    /// One tax edit per draft line of SampleCache (generated invoices and contracts), to the rate `rate` gives.
    func editEveryDraftLine(rate: (Int) -> Double) throws -> (invoices: [String], contracts: [String]) {
        var lines: [String] = [], invoices: [String] = [], contracts: [String] = []
        for (id, invoice) in try items("generated-invoices") where invoice["status"] == "draft" {
            invoices.append(id)
            for line in invoice["lines"]?.arrayValue ?? [] {
                lines.append(
                    JSONWriter.compactString([
                        "kind": "generated-invoice.line-tax",
                        "payload": [
                            "invoiceId": .string(id), "lineId": line["id"] ?? .null, "taxCode": "OUTPUT2",
                            "taxRate": .double(rate(lines.count)),
                        ],
                    ]))
            }
        }
        for (id, contract) in try items("contracts") {
            for line in contract["lines"]?.arrayValue ?? [] where line["status"] == "draft" {
                contracts.append(id)
                lines.append(
                    JSONWriter.compactString([
                        "kind": "contract.line-tax",
                        "payload": [
                            "contractId": .string(id), "lineId": line["id"] ?? .null, "taxCode": "OUTPUT2",
                            "taxRate": .double(rate(lines.count)),
                        ],
                    ]))
            }
        }
        let queued = try b1cache(["enqueue", "--batch", "-"], input: Data(lines.joined(separator: "\n").utf8))
        #expect(queued.status == 0, "\(queued.errorOutput)")
        return (invoices, contracts)
    }

    /// The numbers and tax fields the server computes, as doubles (the server writes `100.0` where b1cache writes `100`).
    static func taxFigures(_ item: JSONValue?) -> [String] {
        var figures = ["taxTotal", "total", "subtotal"].map { "\($0)=\(item?[$0]?.doubleValue.map { "\($0)" } ?? "-")" }
        for line in item?["lines"]?.arrayValue ?? [] {
            let id = line["id"]?.stringValue ?? "?"
            figures.append(
                "\(id) \(line["taxCode"]?.stringValue ?? "-") rate=\(line["taxRate"]?.doubleValue.map { "\($0)" } ?? "-") "
                    + "tax=\(line["taxAmount"]?.doubleValue.map { "\($0)" } ?? "-")")
        }
        return figures
    }

    func expectOverlayMatchesTheServerAfterTheFlush(rate: @escaping (Int) -> Double) throws {
        let server = try ReferenceServer(database: folder.path("server-\(UUID().uuidString).db"))
        let cached = try items("generated-invoices")
        let edited = try editEveryDraftLine(rate: rate)
        #expect(edited.invoices.count >= 10 && !edited.contracts.isEmpty)
        let invoices = try items("generated-invoices", withPending: true)
        let contracts = try items("contracts", withPending: true)
        let flushed = try b1cache(["flush"], environment: server.environment())
        #expect(flushed.status == 0, "\(flushed.output)\(flushed.errorOutput)")
        let onServer = Dictionary(try server.items("generated-invoices").map { ($0["id"]?.stringValue ?? "", $0) }) {
            $1
        }
        var changed = 0
        for id in edited.invoices {
            #expect(Self.taxFigures(invoices[id]) == Self.taxFigures(onServer[id]), "\(id)")
            if Self.taxFigures(invoices[id]) != Self.taxFigures(cached[id]) { changed += 1 }
        }
        #expect(changed > 0, "some edit changes an amount, or the test proves nothing")
        // The server keeps no tax amount or total on contracts; the overlay invents none.
        let contractsOnServer = Dictionary(try server.items("contracts").map { ($0["id"]?.stringValue ?? "", $0) }) {
            $1
        }
        for id in Set(edited.contracts) {
            #expect(Self.taxFigures(contracts[id]) == Self.taxFigures(contractsOnServer[id]), "\(id)")
        }
        // And the cache after the flush holds what the overlay showed before it.
        let after = try items("generated-invoices")
        for id in edited.invoices { #expect(Self.taxFigures(after[id]) == Self.taxFigures(invoices[id]), "\(id)") }
    }

    @Test func everyDraftLineEditedTo15PercentShowsTheTotalsTheServerReturns() throws {
        try expectOverlayMatchesTheServerAfterTheFlush { _ in 15 }
    }

    @Test func mixedRatesRoundHalfUpToCentsAsTheServerDoes() throws {
        // 12.5 % and 7.5 % of amounts such as 459.9 or 53.7 land on half cents, where doubles round the other way.
        let rates: [Double] = [12.5, 7.5, 0, 33.333, 9.975, 100, 2.5]
        try expectOverlayMatchesTheServerAfterTheFlush { rates[$0 % rates.count] }
    }

    @Test func theIssuesInvoiceShowsTheServersFigures() throws {
        // gi_pb57dx1kcc has three lines at 10 %; at 15 % the server computes these.
        let invoice = "gi_pb57dx1kcc"
        for line in ["gil_ayf2hj2v7a", "gil_n22cm8gx33", "gil_xn227qgj7s"] {
            let payload = #"{"invoiceId":"\#(invoice)","lineId":"\#(line)","taxCode":"OUTPUT2","taxRate":15}"#
            #expect(try b1cache(["enqueue", "generated-invoice.line-tax", "--payload", payload]).status == 0)
        }
        let shown = try JSONParser.parse(
            try b1cache(["show", "generated-invoices", "--id", invoice, "--with-pending"]).output)
        #expect(shown["lines"]?.arrayValue?.map { $0["taxAmount"]?.doubleValue } == [164.1, 30.15, 7.5])
        #expect(shown["taxTotal"]?.doubleValue == 201.75)
        #expect(shown["total"]?.doubleValue == 1546.75)
        #expect(shown["_pending"]?.arrayValue?.count == 3)
    }

    @Test func aQueuedWriteTheServerWillRefuseChangesNothingInTheOverlay() throws {
        // A queue from before enqueue judged against the overlay: an ignore after the pending apply of an item.
        let applied = Sample.appliedByQueue[0]
        let write = PendingWrite(
            kind: .missedBillingAction, payload: ["itemId": .string(applied), "action": "ignore"],
            createdAt: Date())
        let name = WriteFileName(createdAt: write.createdAt, sequence: 1, id: write.id).fileName
        try write.encoded().write(to: cache.appendingPathComponent("queue/\(name)"))
        let item = try #require(try items("missed-billing", withPending: true)[applied])
        #expect(item["status"] == "applied")
        #expect(item["appliedMapping"]?["contractId"] == .string(Sample.mappingContract))
        #expect(item["snoozeUntil"] == .null)
        #expect(item["_pending"]?.arrayValue?.last == .string(write.id), "still marked: the write is pending")
    }

    @Test func anActionOrApplyAfterAPendingApplyIsRefusedInABatchToo() throws {
        let apply =
            #"{"kind":"missed-billing.apply","payload":{"itemIds":["\#(Sample.openItem)"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}}"#
        let ignore = #"{"kind":"missed-billing.action","payload":{"itemId":"\#(Sample.openItem)","action":"ignore"}}"#
        let before = try snapshotFiles(under: cache)
        let refused = try b1cache(
            ["enqueue", "--batch", "-"], input: Data([apply, "", ignore].joined(separator: "\n").utf8))
        #expect(refused.status == 2)
        #expect(
            refused.errorOutput.contains(
                "batch line 3: payload field 'itemId': missed-billing item "
                    + "'\(Sample.openItem)' is applied by an earlier apply of this batch"), "\(refused.errorOutput)")
        // The sample queue's own apply: an action on its items is refused, one by one as in a batch.
        let onSample = try b1cache([
            "enqueue", "missed-billing.action", "--payload",
            #"{"itemId":"\#(Sample.appliedByQueue[1])","action":"mark-reviewed"}"#,
        ])
        #expect(onSample.status == 2)
        #expect(onSample.errorOutput.contains("is applied by pending write 5e7b2c90-1af4-4d3b-8c65-e03a9f17d4b8"))
        #expect(try snapshotFiles(under: cache) == before)
        // Once the apply is dropped, the same action is accepted.
        #expect(try b1cache(["drop", "5e7b2c90"]).status == 0)
        #expect(
            try b1cache([
                "enqueue", "missed-billing.action", "--payload",
                #"{"itemId":"\#(Sample.appliedByQueue[1])","action":"mark-reviewed"}"#,
            ]).status == 0)
    }
}
