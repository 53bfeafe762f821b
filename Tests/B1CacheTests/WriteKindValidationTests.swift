@testable import B1Cache
import Foundation
import Testing

/// Each write kind's payload checks, in process (docs/WRITES.md §2): the exact refusal of each rule, one step
/// outside each limit, and the typed view a valid payload decodes to. `EnqueueCommandTests` and `WriteLimitTests`
/// drive the same rules through the binary.
@Suite struct WriteKindValidationTests {
    /// A payload's JSON text and the refusal it gets (nil: accepted).
    struct Case: CustomTestStringConvertible, Sendable {
        var kind: WriteKind
        var payload: String
        var refusal: String?
        var testDescription: String { "\(kind) \(payload.prefix(80))" }

        init(_ kind: WriteKind, _ payload: String, _ refusal: String? = nil) {
            self.kind = kind
            self.payload = payload
            self.refusal = refusal
        }
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15
    static let long = String(repeating: "x", count: WriteLimits.identifier + 1)
    static let ids = (0...WriteLimits.applyItems.upperBound).map { "\"mb_\($0)\"" }

    static let action: [Case] = [
        Case(.missedBillingAction, #"{"itemId":"mb_1","action":"snooze","snoozeUntil":"2027-02-01T00:00:00+13:00"}"#),
        Case(.missedBillingAction, #"{"itemId":"mb_1","action":"ignore"}"#),
        Case(.missedBillingAction, #"{"itemId":"mb_1","action":"mark-reviewed","snoozeUntil":null}"#),
        Case(
            .missedBillingAction, #"{"itemId":"mb_1","action":"ignore","note":"x"}"#,
            "payload field 'note' is not part of this kind's payload (expected action, itemId, snoozeUntil)"),
        Case(.missedBillingAction, #"{"action":"ignore"}"#, "payload field 'itemId' is required"),
        Case(.missedBillingAction, #"{"itemId":null,"action":"ignore"}"#, "payload field 'itemId' is required"),
        Case(
            .missedBillingAction, #"{"itemId":7,"action":"ignore"}"#,
            "payload field 'itemId' must be a string, not a number"),
        Case(
            .missedBillingAction, #"{"itemId":" \t","action":"ignore"}"#,
            "payload field 'itemId' must be a non-empty id of at most 200 characters"),
        Case(
            .missedBillingAction, #"{"itemId":"\#(long)","action":"ignore"}"#,
            "payload field 'itemId' must be a non-empty id of at most 200 characters"),
        Case(
            .missedBillingAction, #"{"itemId":"mb_1","action":"delete"}"#,
            "payload field 'action' must be one of snooze, ignore, mark-reviewed, not 'delete'"),
        Case(.missedBillingAction, #"{"itemId":"mb_1","action":"snooze"}"#, "payload field 'snoozeUntil' is required"),
        Case(
            .missedBillingAction, #"{"itemId":"mb_1","action":"ignore","snoozeUntil":"2027-02-01T00:00:00Z"}"#,
            "payload field 'snoozeUntil' is only for action 'snooze'"),
        Case(
            .missedBillingAction, #"{"itemId":"mb_1","action":"snooze","snoozeUntil":"2001-01-01T00:00:00Z"}"#,
            "payload field 'snoozeUntil' must be in the future; 2001-01-01T00:00:00Z has passed"),
        Case(
            .missedBillingAction, #"{"itemId":"mb_1","action":"snooze","snoozeUntil":"2027-02-30T00:00:00Z"}"#,
            "payload field 'snoozeUntil' is '2027-02-30T00:00:00Z', a date and time that does not exist (days 01 to "
                + "28, 29, 30 or 31 by month, hours 00-23, minutes and seconds 00-59)"),
        Case(
            .missedBillingAction, #"{"itemId":"mb_1","action":"snooze","snoozeUntil":"2027-02-01"}"#,
            "payload field 'snoozeUntil' must be an ISO 8601 date and time with a time zone, such as "
                + "2027-01-15T00:00:00Z, not '2027-02-01'"),
    ]

    static let apply: [Case] = [
        Case(.missedBillingApply, #"{"itemIds":["mb_1","mb_2"],"mapping":{"contractId":"ct_1","lineId":"ctl_1"}}"#),
        Case(
            .missedBillingApply,
            #"{"itemIds":[\#(ids.dropLast().joined(separator: ","))],"mapping":{"contractId":"c"}}"#),
        Case(
            .missedBillingApply, #"{"itemIds":[\#(ids.joined(separator: ","))],"mapping":{"contractId":"c"}}"#,
            "payload field 'itemIds' must hold 1 to 500 ids, not 501"),
        Case(
            .missedBillingApply, #"{"itemIds":[],"mapping":{"contractId":"c"}}"#,
            "payload field 'itemIds' must hold 1 to 500 ids, not 0"),
        Case(.missedBillingApply, #"{"mapping":{"contractId":"c"}}"#, "payload field 'itemIds' is required"),
        Case(
            .missedBillingApply, #"{"itemIds":"mb_1","mapping":{"contractId":"c"}}"#,
            "payload field 'itemIds' must be an array of ids, not a string"),
        Case(
            .missedBillingApply, #"{"itemIds":["mb_1",2],"mapping":{"contractId":"c"}}"#,
            "payload field 'itemIds[1]' must be a non-empty id of at most 200 characters"),
        Case(
            .missedBillingApply, #"{"itemIds":["mb_1","mb_2","mb_1"],"mapping":{"contractId":"c"}}"#,
            "payload field 'itemIds[2]' repeats 'mb_1'"),
        Case(.missedBillingApply, #"{"itemIds":["mb_1"]}"#, "payload field 'mapping' is required"),
        Case(
            .missedBillingApply, #"{"itemIds":["mb_1"],"mapping":["c"]}"#,
            "payload field 'mapping' must be an object, not an array"),
        Case(
            .missedBillingApply, #"{"itemIds":["mb_1"],"mapping":{"lineId":"ctl_1"}}"#,
            "payload field 'mapping.contractId' is required"),
        Case(
            .missedBillingApply, #"{"itemIds":["mb_1"],"mapping":{"contractId":"c","quantity":1e400}}"#,
            "payload field 'mapping.quantity' is 1e400, a number too large to hold"),
        Case(
            .missedBillingApply, #"{"itemIds":["mb_1"],"mapping":{"contractId":"c"},"note":"x"}"#,
            "payload field 'note' is not part of this kind's payload (expected itemIds, mapping)"),
    ]

    static let invoiceTax: [Case] = [
        Case(.generatedInvoiceLineTax, #"{"invoiceId":"gi_1","lineId":"gil_1","taxCode":"OUTPUT2","taxRate":15.0}"#),
        Case(.generatedInvoiceLineTax, #"{"invoiceId":"gi_1","lineId":"gil_1","taxCode":"EXEMPT","taxRate":0}"#),
        Case(
            .generatedInvoiceLineTax, #"{"contractId":"ct_1","lineId":"l","taxCode":"T","taxRate":1}"#,
            "payload field 'contractId' is not part of this kind's payload (expected invoiceId, lineId, taxCode, "
                + "taxRate)"),
        Case(
            .generatedInvoiceLineTax, #"{"invoiceId":"gi_1","lineId":"l","taxCode":"T","taxRate":100.5}"#,
            "payload field 'taxRate' must be between 0 and 100, not 100.5"),
        Case(
            .generatedInvoiceLineTax, #"{"invoiceId":"gi_1","lineId":"l","taxCode":"T","taxRate":1e400}"#,
            "payload field 'taxRate' must be between 0 and 100, not 1e400"),
        Case(
            .generatedInvoiceLineTax, #"{"invoiceId":"gi_1","lineId":"l","taxCode":"T","taxRate":"15"}"#,
            "payload field 'taxRate' must be a number, not a string"),
        Case(
            .generatedInvoiceLineTax, #"{"invoiceId":"gi_1","lineId":"l","taxCode":"","taxRate":15}"#,
            "payload field 'taxCode' must be a non-empty id of at most 200 characters"),
        Case(
            .generatedInvoiceLineTax, #"{"invoiceId":"gi_1","taxCode":"T","taxRate":15}"#,
            "payload field 'lineId' is required"),
    ]

    static let contractTax: [Case] = [
        Case(.contractLineTax, #"{"contractId":"ct_1","lineId":"ctl_1","taxCode":"OUTPUT","taxRate":100}"#),
        Case(
            .contractLineTax, #"{"invoiceId":"gi_1","lineId":"l","taxCode":"T","taxRate":1}"#,
            "payload field 'invoiceId' is not part of this kind's payload (expected contractId, lineId, taxCode, "
                + "taxRate)"),
        Case(
            .contractLineTax, #"{"contractId":"ct_1","lineId":"l","taxCode":"T","taxRate":-0.5}"#,
            "payload field 'taxRate' must be between 0 and 100, not -0.5"),
        Case(.contractLineTax, #"{"lineId":"l","taxCode":"T","taxRate":1}"#, "payload field 'contractId' is required"),
    ]

    static func payload(_ text: String) throws -> JSONObject {
        try #require(try JSONParser.parse(text).objectValue, "\(text) is not an object")
    }

    @Test(arguments: action + apply + invoiceTax + contractTax)
    func eachRuleRefusesWithItsMessage(_ test: Case) throws {
        let payload = try Self.payload(test.payload)
        do {
            try PayloadValidator.check(payload, kind: test.kind, now: Self.now)
            #expect(test.refusal == nil, "accepted")
        } catch let error as QueueError {
            #expect(error.description == test.refusal)
        }
    }

    @Test func everyKindHasCasesOnBothSidesOfItsRules() {
        for kind in WriteKind.allCases {
            let cases = (Self.action + Self.apply + Self.invoiceTax + Self.contractTax).filter { $0.kind == kind }
            #expect(cases.contains { $0.refusal == nil } && cases.contains { $0.refusal != nil }, "\(kind)")
        }
    }

    @Test func aPastSnoozeIsAcceptedWhenNoTimeIsGiven() throws {
        let past = try Self.payload(#"{"itemId":"mb_1","action":"snooze","snoozeUntil":"2001-01-01T00:00:00Z"}"#)
        try PayloadValidator.check(past, kind: .missedBillingAction, now: nil)
        // A date that does not exist is refused all the same.
        let impossible = try Self.payload(#"{"itemId":"mb_1","action":"snooze","snoozeUntil":"2001-02-29T00:00:00Z"}"#)
        #expect(throws: QueueError.self) {
            try PayloadValidator.check(impossible, kind: .missedBillingAction, now: nil)
        }
    }

    @Test func aValidPayloadDecodesToTheSameViewAsTheQueuedOneAndKeepsItsLiterals() throws {
        for test in Self.action + Self.apply + Self.invoiceTax + Self.contractTax where test.refusal == nil {
            let payload = try Self.payload(test.payload)
            let validated = try test.kind.rules.init(validating: payload, now: Self.now)
            let read = test.kind.rules.init(reading: payload)
            #expect(validated.targetIds == read.targetIds && !read.targetIds.isEmpty, "\(test.payload)")
            #expect(validated.supersedeKey == read.supersedeKey, "\(test.payload)")
            #expect(validated.touchedKeys == read.touchedKeys && !read.touchedKeys.isEmpty, "\(test.payload)")
            #expect(validated.appliedItems == read.appliedItems, "\(test.payload)")
        }
        let tax = try GeneratedInvoiceLineTax(validating: try Self.payload(Self.invoiceTax[0].payload), now: Self.now)
        #expect(tax.edit.taxRate == .number("15.0") && tax.edit.taxCode == "OUTPUT2")
        let snooze = try MissedBillingAction(validating: try Self.payload(Self.action[0].payload), now: Self.now)
        #expect(snooze.action == .snooze && snooze.snoozeUntil == "2027-02-01T00:00:00+13:00")
        let apply = try MissedBillingApply(validating: try Self.payload(Self.apply[0].payload), now: Self.now)
        #expect(apply.itemIds == ["mb_1", "mb_2"] && apply.contractId == "ct_1")
        #expect(apply.mapping == ["contractId": "ct_1", "lineId": "ctl_1"])
    }

    @Test func aQueuedPayloadOfTheWrongShapeReadsAsFarAsItCan() throws {
        let action = MissedBillingAction(reading: try Self.payload(#"{"itemId":"mb_1","action":"dance"}"#))
        #expect(action.itemId == "mb_1" && action.action == nil && action.targetIds == ["mb_1"])
        let apply = MissedBillingApply(reading: try Self.payload(#"{"itemIds":["mb_1",3,"mb_2"],"mapping":"x"}"#))
        #expect(apply.itemIds == ["mb_1", "mb_2"] && apply.contractId == nil && apply.mapping == "x")
        let tax = ContractLineTax(reading: try Self.payload(#"{"contractId":"ct_1","taxRate":"high"}"#))
        #expect(tax.supersedeKey == nil && tax.targetIds == ["ct_1"] && tax.edit.taxRate == "high")
        #expect(GeneratedInvoiceLineTax(reading: JSONObject()).targetIds.isEmpty)
    }
}
