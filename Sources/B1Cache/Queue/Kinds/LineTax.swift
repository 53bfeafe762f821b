import Foundation

/// What the two tax-edit kinds (`generated-invoice.line-tax`, `contract.line-tax`) share: the payload
/// `{owner, "lineId", "taxCode", "taxRate"}`, where the owner field (`invoiceId` or `contractId`) names the item whose
/// line changes, and the edit of that line. A newer edit of the same line supersedes a pending one; an edit of
/// another line of the same item does not.
struct LineTax: Sendable {
    /// The rates a tax edit may set, in percent, inclusive.
    static let rates: ClosedRange<Double> = 0...100

    var ownerId: String?
    var lineId: String?
    /// As given, for the line.
    var taxCode: JSONValue?
    /// As given: the number literal the line gets, and the server reads.
    var taxRate: JSONValue?

    /// The payload's fields in one line, for `enqueue --help`.
    static func payloadHelp(owner: String) -> String {
        let bounds = [rates.lowerBound, rates.upperBound].map { JSONWriter.compactString(.double($0)) }
        return #"{"\#(owner)", "lineId", "taxCode", "taxRate" (\#(bounds[0]) to \#(bounds[1]))}"#
    }

    /// - Throws: `QueueError.invalidField` naming the first field that is wrong (the other kind's owner field is
    ///   an unknown field).
    init(validating payload: JSONObject, owner: String) throws {
        let fields = PayloadFields(payload: payload)
        try fields.allowOnly([owner, "lineId", "taxCode", "taxRate"])
        ownerId = try fields.identifier(owner)
        lineId = try fields.identifier("lineId")
        _ = try fields.identifier("taxCode")
        _ = try fields.number("taxRate", in: Self.rates)
        taxCode = payload["taxCode"]
        taxRate = payload["taxRate"]
    }

    init(reading payload: JSONObject, owner: String) {
        ownerId = payload[owner]?.stringValue
        lineId = payload["lineId"]?.stringValue
        taxCode = payload["taxCode"]
        taxRate = payload["taxRate"]
    }

    /// `collection/owner/line`: one key per line.
    func supersedeKey(in collection: CollectionName) -> String? {
        guard let ownerId, let lineId else { return nil }
        return "\(collection.rawValue)/\(ownerId)/\(lineId)"
    }

    /// The owner's line the payload names, as the target check finds it.
    /// - Throws: `QueueError.notEditable` when the owner has no such line.
    func requireLine(of owner: JSONValue) throws -> JSONValue {
        let lineId = lineId ?? ""
        guard let line = owner["lines"]?.arrayValue?.first(where: { $0["id"]?.stringValue == lineId }) else {
            let ownerId = owner["id"]?.stringValue ?? "?"
            throw QueueError.notEditable(field: "lineId", reason: "'\(ownerId)' has no line '\(lineId)'")
        }
        return line
    }

    /// Sets `taxCode` and `taxRate` on the first line whose id is `lineId`, as the server finds it; `accept` (after
    /// the change) says whether the server would keep it or refuse the write. Returns whether the line changed.
    func editFirstLine(of item: inout JSONObject, accept: (inout JSONObject) -> Bool) -> Bool {
        guard let lineId, var lines = item["lines"]?.arrayValue,
            let index = lines.firstIndex(where: { $0.objectValue?["id"]?.stringValue == lineId }),
            var line = lines[index].objectValue
        else { return false }
        line["taxCode"] = taxCode ?? .null
        line["taxRate"] = taxRate ?? .null
        guard accept(&line) else { return false }
        lines[index] = .object(line)
        item["lines"] = .array(lines)
        return true
    }
}
