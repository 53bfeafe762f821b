import Foundation

extension WriteKind {
    /// Change the tax code and rate of a draft line of a contract.
    public static let contractLineTax = WriteKind(ContractLineTax.self)
}

/// `contract.line-tax`: `{"contractId", "lineId", "taxCode", "taxRate"}` (docs/WRITES.md §2). The line's own status
/// must be draft, whatever the contract's; the server keeps no tax amount or total on contracts, so the overlay
/// recomputes none.
struct ContractLineTax: WritePayload {
    static let name = "contract.line-tax"
    static let collection = CollectionName.contracts
    static let payloadHelp = LineTax.payloadHelp(owner: owner)
    private static let owner = "contractId"

    var edit: LineTax

    init(validating payload: JSONObject, now: Date?) throws {
        edit = try LineTax(validating: payload, owner: Self.owner)
    }

    init(reading payload: JSONObject) { edit = LineTax(reading: payload, owner: Self.owner) }

    func checkTargets(in cache: TargetChecker) throws {
        guard let contract = try cache.requireItem(Self.collection, field: Self.owner, id: edit.ownerId) else { return }
        let line = try edit.requireLine(of: contract)
        let status = line["status"]?.stringValue ?? "unknown"
        guard status == "draft" else {
            throw QueueError.notEditable(field: "lineId", reason: "contract line is '\(status)', not a draft")
        }
    }

    var targetIds: [String] { edit.ownerId.map { [$0] } ?? [] }
    var supersedeKey: String? { edit.supersedeKey(in: Self.collection) }

    func applyEffect(to item: inout JSONObject) {
        _ = edit.editFirstLine(of: &item) { line in line["status"]?.stringValue == "draft" }
    }
}
