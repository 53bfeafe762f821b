import Foundation

extension WriteKind {
    /// Change the tax code and rate of a line of a draft generated invoice.
    public static let generatedInvoiceLineTax = WriteKind(GeneratedInvoiceLineTax.self)
}

/// `generated-invoice.line-tax`: `{"invoiceId", "lineId", "taxCode", "taxRate"}` (docs/WRITES.md §2). Only lines of
/// a draft invoice change, and the overlay recomputes the amounts as the server will (`InvoiceTax`).
struct GeneratedInvoiceLineTax: WritePayload {
    static let name = "generated-invoice.line-tax"
    static let collection = CollectionName.generatedInvoices
    static let payloadHelp = LineTax.payloadHelp(owner: owner)
    private static let owner = "invoiceId"

    var edit: LineTax

    init(validating payload: JSONObject, now: Date?) throws {
        edit = try LineTax(validating: payload, owner: Self.owner)
    }

    init(reading payload: JSONObject) { edit = LineTax(reading: payload, owner: Self.owner) }

    func checkTargets(in cache: TargetChecker) throws {
        guard let invoice = try cache.requireItem(Self.collection, field: Self.owner, id: edit.ownerId) else { return }
        _ = try edit.requireLine(of: invoice)
        let status = invoice["status"]?.stringValue ?? "unknown"
        guard status == "draft" else {
            throw QueueError.notEditable(
                field: Self.owner, reason: "generated invoice is '\(status)', and only lines of drafts can change")
        }
    }

    var targetIds: [String] { edit.ownerId.map { [$0] } ?? [] }
    var supersedeKey: String? { edit.supersedeKey(in: Self.collection) }

    func applyEffect(to item: inout JSONObject) {
        // Only a draft's lines change (the server answers 409 otherwise).
        guard item["status"]?.stringValue == "draft" else { return }
        let edited = edit.editFirstLine(of: &item) { line in
            InvoiceTax.recomputeLine(&line)
            return true
        }
        if edited { InvoiceTax.recomputeTotals(&item) }
    }
}
