@testable import B1Cache
import Foundation
import Testing

/// What each write kind owns besides its payload checks, in process: the one list of kinds, the coalescing keys and
/// the supersede rule built on them (`QueueView`), the checks against the cache and the pending writes, and the
/// local effect (docs/WRITES.md §3–§5). The end-to-end suites drive the same through the binary.
@Suite final class WriteKindRulesTests {
    let folder = TemporaryFolder()

    static func write(_ kind: WriteKind, _ payload: JSONObject, id: String = UUID().uuidString.lowercased())
        -> PendingWrite
    {
        PendingWrite(id: id, kind: kind, payload: payload)
    }

    static func action(_ item: String, _ action: String = "ignore") -> PendingWrite {
        write(.missedBillingAction, ["itemId": .string(item), "action": .string(action)])
    }

    static func apply(_ items: [String]) -> PendingWrite {
        write(.missedBillingApply, ["itemIds": .array(items.map { .string($0) }), "mapping": ["contractId": "ct_1"]])
    }

    static func invoiceTax(_ invoice: String, _ line: String, rate: String = "15") -> PendingWrite {
        write(
            .generatedInvoiceLineTax,
            [
                "invoiceId": .string(invoice), "lineId": .string(line), "taxCode": "T",
                "taxRate": .number(rate),
            ])
    }

    static func contractTax(_ contract: String, _ line: String) -> PendingWrite {
        write(
            .contractLineTax,
            [
                "contractId": .string(contract), "lineId": .string(line), "taxCode": "T",
                "taxRate": 15,
            ])
    }

    // MARK: The list of kinds

    @Test func theListNamesEachKindOnceWithItsCollectionAndHelpLine() {
        let expected: [(String, CollectionName)] = [
            ("missed-billing.action", .missedBilling), ("missed-billing.apply", .missedBilling),
            ("generated-invoice.line-tax", .generatedInvoices), ("contract.line-tax", .contracts),
        ]
        #expect(WriteKind.allCases.map(\.rawValue) == expected.map(\.0))
        #expect(WriteKind.allCases.map(\.collection) == expected.map(\.1))
        for kind in WriteKind.allCases {
            #expect(WriteKind(rawValue: kind.rawValue) == kind && kind.rules.name == kind.rawValue)
            #expect(kind.payloadHelp.hasPrefix("{") && kind.payloadHelp.hasSuffix("}"), "\(kind.payloadHelp)")
        }
        #expect(Set(WriteKind.allCases).count == WriteKind.allCases.count)
        #expect(WriteKind(rawValue: "invoice.push") == nil && WriteKind(rawValue: "Missed-billing.action") == nil)
        #expect(
            WriteKind.missedBillingApply.payloadHelp
                == #"{"itemIds": [1 to 500 ids], "mapping": {"contractId", ...}}"#)
        #expect(WriteKind.contractLineTax.payloadHelp == #"{"contractId", "lineId", "taxCode", "taxRate" (0 to 100)}"#)
    }

    // MARK: Coalescing

    @Test func eachKindHasItsSupersedeKeyAndTouchedItems() {
        let cases: [(PendingWrite, key: String?, touched: Set<String>)] = [
            (Self.action("mb_1"), "missed-billing/mb_1", ["missed-billing/mb_1"]),
            (Self.apply(["mb_1", "mb_2"]), nil, ["missed-billing/mb_1", "missed-billing/mb_2"]),
            (Self.invoiceTax("gi_1", "l_1"), "generated-invoices/gi_1/l_1", ["generated-invoices/gi_1/l_1"]),
            (Self.contractTax("gi_1", "l_1"), "contracts/gi_1/l_1", ["contracts/gi_1/l_1"]),
            (Self.write(.contractLineTax, ["contractId": "ct_1"]), nil, []),
        ]
        for (write, key, touched) in cases {
            #expect(write.typedPayload.supersedeKey == key, "\(write.kind)")
            #expect(write.typedPayload.touchedKeys == touched, "\(write.kind)")
        }
        #expect(Self.apply(["mb_1", "mb_2"]).typedPayload.appliedItems == ["mb_1", "mb_2"])
        #expect(Self.action("mb_1").typedPayload.appliedItems.isEmpty)
    }

    /// The writes, queued in order into an empty view; returns, for the last, the write it supersedes.
    func superseded(after pending: [PendingWrite], by last: PendingWrite) -> String? {
        let view = QueueView(paths: CachePaths(root: folder.path("cache")))
        for write in pending { view.add(write, name: WriteNamer.next(id: write.id), bytes: 0) }
        return view.superseded(by: last)
    }

    @Test func aNewerWriteWithTheSameKeySupersedesTheLastPendingOne() {
        let first = Self.action("mb_1", "snooze"), second = Self.action("mb_1", "ignore")
        #expect(superseded(after: [first], by: Self.action("mb_1")) == first.id)
        #expect(superseded(after: [first, second], by: Self.action("mb_1", "mark-reviewed")) == second.id)
        let line = Self.invoiceTax("gi_1", "l_1")
        // An edit of another line of the same invoice does not stop the search.
        let otherLine = Self.invoiceTax("gi_1", "l_2")
        #expect(superseded(after: [line, otherLine], by: Self.invoiceTax("gi_1", "l_1")) == line.id)
        let contractLine = Self.contractTax("ct_1", "l_1")
        #expect(superseded(after: [contractLine], by: Self.contractTax("ct_1", "l_1")) == contractLine.id)
    }

    @Test func nothingIsSupersededAcrossAnApplyAnotherItemOrAnotherKind() {
        let snooze = Self.action("mb_1", "snooze")
        #expect(superseded(after: [snooze, Self.apply(["mb_2", "mb_1"])], by: Self.action("mb_1")) == nil)
        #expect(superseded(after: [snooze, Self.apply(["mb_2"])], by: Self.action("mb_1")) == snooze.id)
        #expect(superseded(after: [snooze], by: Self.action("mb_2")) == nil)
        #expect(superseded(after: [Self.apply(["mb_1"])], by: Self.apply(["mb_1"])) == nil)
        #expect(superseded(after: [Self.invoiceTax("x_1", "l_1")], by: Self.contractTax("x_1", "l_1")) == nil)
        #expect(superseded(after: [Self.invoiceTax("gi_1", "l_1")], by: Self.invoiceTax("gi_1", "l_2")) == nil)
    }

    // MARK: Checks against the cache and the pending writes

    func checker(sample: Bool = true) throws -> TargetChecker {
        let root = folder.path(UUID().uuidString)
        if sample { _ = try Repository.copySampleCache(to: root) }
        return TargetChecker(store: CacheStore(paths: CachePaths(root: root)))
    }

    func refusal(_ write: PendingWrite, _ checker: TargetChecker) throws -> String? {
        do {
            try write.typedPayload.checkTargets(in: checker)
        } catch let error as QueueError {
            return error.description
        }
        return nil
    }

    @Test func eachKindChecksItsTargetsInTheCache() throws {
        let checker = try checker()
        let cases: [(PendingWrite, String?)] = [
            (Self.action(Sample.openItem), nil),
            (Self.action("mb_nope"), "payload field 'itemId': no missed-billing item 'mb_nope' in the cache"),
            (
                Self.apply([Sample.openItem, "mb_nope"]),
                "payload field 'itemIds[1]': no missed-billing item 'mb_nope' in the cache"
            ),
            (
                Self.write(
                    .missedBillingApply,
                    [
                        "itemIds": [.string(Sample.openItem)],
                        "mapping": ["contractId": "ct_no"],
                    ]),
                "payload field 'mapping.contractId': no contracts item 'ct_no' in the cache"
            ),
            (Self.invoiceTax(Sample.draftInvoice, Sample.draftInvoiceLine), nil),
            (
                Self.invoiceTax(Sample.draftInvoice, "gil_nope"),
                "payload field 'lineId': '\(Sample.draftInvoice)' has no line 'gil_nope'"
            ),
            (
                Self.invoiceTax(Sample.approvedInvoice, Sample.approvedInvoiceLine),
                "payload field 'invoiceId': generated invoice is 'approved', and only lines of drafts can change"
            ),
            (Self.contractTax(Sample.contractWithDraftLine, Sample.draftContractLine), nil),
            (
                Self.contractTax(Sample.contractWithDraftLine, "ctl_nw7r07sadx"),
                "payload field 'lineId': contract line is 'active', not a draft"
            ),
            (Self.contractTax("ct_nope", "l"), "payload field 'contractId': no contracts item 'ct_nope' in the cache"),
        ]
        for (write, expected) in cases {
            #expect(try refusal(write, checker) == expected, "\(write.kind) \(write.payload)")
        }
    }

    @Test func aCacheWithoutTheCollectionChecksNothing() throws {
        let empty = try checker(sample: false)
        for write in [
            Self.action("mb_nope"), Self.apply(["mb_nope"]), Self.invoiceTax("gi_no", "l"),
            Self.contractTax("ct_no", "l"),
        ] {
            #expect(try refusal(write, empty) == nil, "\(write.kind)")
        }
    }

    @Test func onlyMissedBillingWritesAreCheckedAgainstPendingApplies() throws {
        let appliedBy: [String: String?] = ["mb_1": "w-1", "mb_2": nil]
        func refusal(_ write: PendingWrite) -> String? {
            do { try write.typedPayload.checkAgainstPending(appliedBy: appliedBy) } catch let error as QueueError {
                return error.description
            } catch { return "\(error)" }
            return nil
        }
        #expect(
            refusal(Self.action("mb_1")) == "payload field 'itemId': missed-billing item 'mb_1' is applied by "
                + "pending write w-1, and the server refuses anything after an apply")
        #expect(
            refusal(Self.apply(["mb_3", "mb_2"])) == "payload field 'itemIds[1]': missed-billing item 'mb_2' is "
                + "applied by an earlier apply of this batch, and the server refuses anything after an apply")
        #expect(refusal(Self.action("mb_3")) == nil && refusal(Self.apply(["mb_3"])) == nil)
        #expect(refusal(Self.invoiceTax("mb_1", "l")) == nil && refusal(Self.contractTax("mb_1", "l")) == nil)
    }

    // MARK: Local effect

    @Test func missedBillingWritesSetTheStatusUnlessAnItemIsApplied() {
        let items: [JSONValue] = [
            ["id": "mb_1", "status": "open", "snoozeUntil": .null],
            ["id": "mb_2", "status": "snoozed", "snoozeUntil": "2027-01-01T00:00:00Z"],
            ["id": "mb_3", "status": "applied"],
        ]
        var snooze = Self.action("mb_1", "snooze")
        snooze.payload["snoozeUntil"] = "2027-03-01T00:00:00+13:00"
        let apply = Self.apply(["mb_2"]), refused = Self.apply(["mb_1", "mb_3"]), late = Self.action("mb_2")
        let shown = PendingOverlay.apply([snooze, apply, refused, late], to: items, collection: .missedBilling)
        #expect(
            shown[0] == [
                "id": "mb_1", "status": "snoozed", "snoozeUntil": "2027-03-01T00:00:00+13:00",
                "_pending": [.string(snooze.id), .string(refused.id)],
            ])
        #expect(
            shown[1] == [
                "id": "mb_2", "status": "applied", "snoozeUntil": .null,
                "appliedMapping": ["contractId": "ct_1"],
                "_pending": [.string(apply.id), .string(late.id)],
            ])
        #expect(shown[2] == ["id": "mb_3", "status": "applied", "_pending": [.string(refused.id)]])
    }

    @Test func anInvoiceTaxEditRecomputesTheDraftAndLeavesOthersAsTheyAre() {
        let line: JSONValue = ["id": "l_1", "amount": .number("459.9"), "taxRate": 10, "taxAmount": .number("45.99")]
        let items: [JSONValue] = [
            ["id": "gi_1", "status": "draft", "subtotal": .number("459.9"), "lines": [line]],
            ["id": "gi_2", "status": "approved", "lines": [line]],
        ]
        let draft = Self.invoiceTax("gi_1", "l_1", rate: "15.0"), approved = Self.invoiceTax("gi_2", "l_1")
        let shown = PendingOverlay.apply([draft, approved], to: items, collection: .generatedInvoices)
        let edited = shown[0]["lines"]?.arrayValue?.first
        #expect(edited?["taxRate"] == .number("15.0") && edited?["taxCode"] == "T")
        #expect(edited?["taxAmount"] == .number("68.99"))  // half away from zero, as the server rounds
        #expect(shown[0]["taxTotal"] == .number("68.99") && shown[0]["total"] == .number("528.89"))
        #expect(shown[1]["lines"] == [line] && shown[1]["_pending"] == [.string(approved.id)])
    }

    @Test func aContractTaxEditChangesOnlyADraftLineAndComputesNothing() {
        let items: [JSONValue] = [
            [
                "id": "ct_1", "status": "active",
                "lines": [
                    ["id": "l_1", "status": "draft", "taxRate": 0], ["id": "l_2", "status": "active", "taxRate": 0],
                ],
            ]
        ]
        let shown = PendingOverlay.apply(
            [Self.contractTax("ct_1", "l_1"), Self.contractTax("ct_1", "l_2")], to: items,
            collection: .contracts)
        #expect(
            shown[0]["lines"] == [
                ["id": "l_1", "status": "draft", "taxRate": 15, "taxCode": "T"],
                ["id": "l_2", "status": "active", "taxRate": 0],
            ])
        #expect(shown[0]["taxTotal"] == nil && shown[0]["_pending"]?.arrayValue?.count == 2)
    }
}
