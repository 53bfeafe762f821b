import B1Cache
import Foundation
import Testing

/// A write the server rejects: the cache then shows the server's state, the flush says what to do, and a retry
/// after the cause is fixed is applied — once, even when the first id had been applied after all.
@Suite(.perTestTimeLimit) final class RejectedWriteTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")
    lazy var queue = WriteQueue(paths: CachePaths(root: cache))

    static let invoice = "gi_fjsfdb8er8", line = "gil_bh2nx4f9x1"
    static let edit = #"{"invoiceId":"gi_fjsfdb8er8","lineId":"gil_bh2nx4f9x1","taxCode":"GST10","taxRate":10}"#

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func b1cache(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.b1cache(
            arguments + ["--cache-dir", cache.path], environment: server.environment(), timeout: 60)
    }

    func ledger(_ id: String) throws -> JSONValue? {
        try server.admin("admin/ledger")["writes"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    func setInvoiceStatus(_ status: String) throws {
        try server.admin(
            "admin/mutate",
            [
                "collection": "generated-invoices",
                "patch": [["id": .string(Self.invoice), "set": ["status": .string(status)]]],
            ])
    }

    func cachedInvoice() throws -> JSONValue {
        try JSONParser.parse(try b1cache(["show", "generated-invoices", "--id", Self.invoice]).output)
    }

    @Test func aConflictRefreshesTheItemAndARetryAfterTheFixIsAppliedOnce() throws {
        #expect(try b1cache(["flush"]).status == 0)  // the sample's own pending writes out of the way
        let queued = try b1cache(["enqueue", "generated-invoice.line-tax", "--payload", Self.edit, "--json"])
        let id = try #require(try JSONParser.parse(queued.output)["id"]?.stringValue)
        try setInvoiceStatus("sent")  // someone sent the invoice on the web meanwhile
        let flush = try b1cache(["flush"])
        #expect(flush.status == 3)
        #expect(flush.errorOutput.contains("write \(id) moved to failed/: 409"), "\(flush.errorOutput)")
        #expect(flush.errorOutput.contains("resolve it on BillingOne web, then 'b1cache retry \(id)'"))
        #expect(flush.errorOutput.contains("'b1cache drop \(id)'"))
        // The cache shows the server's state, not the draft that caused the conflict, so the same edit is refused.
        #expect(try cachedInvoice()["status"] == "sent")
        let again = try b1cache(["enqueue", "generated-invoice.line-tax", "--payload", Self.edit])
        #expect(again.status == 2, "\(again.errorOutput)")
        // Resolved on the web: back to a draft. The retried write is sent under a new id and applied.
        try setInvoiceStatus("draft")
        let retry = try b1cache(["retry", id])
        #expect(retry.status == 0)
        #expect(retry.output.contains("\(id)-r1 (retry of \(id))"))
        #expect(try queue.readablePending().map(\.retryOf) == [[id]])
        #expect(try b1cache(["flush"]).status == 0)
        #expect(try ledger(id)?["applied"] == 0)
        #expect(try ledger(id)?["status"] == "rejected")
        #expect(try ledger("\(id)-r1")?["applied"] == 1)
        #expect(try ledger("\(id)-r1")?["retryOf"] == [.string(id)])
        let served = try #require(
            try server.items("generated-invoices").first { $0["id"]?.stringValue == Self.invoice })
        let servedLine = served["lines"]?.arrayValue?.first { $0["id"]?.stringValue == Self.line }
        #expect(servedLine?["taxRate"] == 10)
        #expect(try cachedInvoice() == served)
    }

    @Test func aRetryOfAWriteTheServerHadAppliedIsADuplicateNotASecondApply() throws {
        let pending = try queue.list(.pending)
        let first = try #require(pending.first)
        let write = try #require(first.write)
        // The server applies it, but every answer is lost; then (as after attempts ran out) it lands in failed/.
        try server.admin("admin/faults", ["dropAfterApply": 1, "path": "/v1/writes:batch"])
        #expect(try b1cache(["flush"]).status == 3)
        #expect(try ledger(write.id)?["applied"] == 1)
        try FileManager.default.moveItem(
            at: first.entry.url,
            to: cache.appendingPathComponent("failed/\(first.entry.fileName)"))
        #expect(try b1cache(["retry", write.id]).status == 0)
        #expect(try b1cache(["flush"]).status == 0)
        #expect(try ledger(write.id)?["applied"] == 1)
        #expect(try ledger("\(write.id)-r1")?["applied"] == 0)
        #expect(try ledger("\(write.id)-r1")?["status"] == "duplicate")
        #expect(try queue.readablePending().isEmpty)
    }

    @Test func aRetryInterruptedBeforeTheFailedFileWentIsFinishedNotDoubled() throws {
        let failed = try #require(try queue.list(.failed).first)
        let write = try #require(failed.write)
        #expect(try b1cache(["retry", write.id]).status == 0)
        // What a kill between the durable queue copy and the removal leaves: the failed file back beside it.
        try Data(write.encoded()).write(to: failed.entry.url)
        #expect(try b1cache(["retry", write.id]).status == 0)
        let retried = try queue.readablePending().filter { $0.retryOf == [write.id] }
        #expect(retried.map(\.id) == ["\(write.id)-r1"])
        #expect(try queue.list(.failed).isEmpty)
    }
}
