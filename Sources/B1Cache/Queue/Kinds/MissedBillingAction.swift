import Foundation

extension WriteKind {
    /// Snooze, ignore or mark reviewed one missed-billing item.
    public static let missedBillingAction = WriteKind(MissedBillingAction.self)
}

/// `missed-billing.action`: `{"itemId", "action", "snoozeUntil"}` (docs/WRITES.md §2). A newer action on the same
/// item supersedes a pending one, whatever the two actions are.
struct MissedBillingAction: WritePayload {
    enum Action: String, CaseIterable, Sendable {
        case snooze
        case ignore
        case markReviewed = "mark-reviewed"

        /// The item's status once the server applied the action.
        var status: String {
            switch self {
            case .snooze: "snoozed"
            case .ignore: "ignored"
            case .markReviewed: "reviewed"
            }
        }
    }

    static let name = "missed-billing.action"
    static let collection = CollectionName.missedBilling
    static let payloadHelp = #"{"itemId", "action": "snooze"|"ignore"|"mark-reviewed", "snoozeUntil" (snooze only)}"#

    var itemId: String?
    var action: Action?
    /// As given: an ISO 8601 string (kept as typed, an offset is not converted), or absent for other actions.
    var snoozeUntil: JSONValue?

    init(validating payload: JSONObject, now: Date?) throws {
        let fields = PayloadFields(payload: payload)
        try fields.allowOnly(["itemId", "action", "snoozeUntil"])
        itemId = try fields.identifier("itemId")
        let action = Action(rawValue: try fields.oneOf("action", Action.allCases.map(\.rawValue)))
        if action == .snooze {
            let until = try fields.date("snoozeUntil")
            if let now, until <= now {
                throw QueueError.invalidField(
                    field: "snoozeUntil",
                    reason: "must be in the future; \(Timestamp.string(until)) has passed")
            }
        } else if let value = payload["snoozeUntil"], !value.isNull {
            throw QueueError.invalidField(field: "snoozeUntil", reason: "is only for action 'snooze'")
        }
        self.action = action
        snoozeUntil = payload["snoozeUntil"]
    }

    init(reading payload: JSONObject) {
        itemId = payload["itemId"]?.stringValue
        action = payload["action"]?.stringValue.flatMap(Action.init(rawValue:))
        snoozeUntil = payload["snoozeUntil"]
    }

    func checkTargets(in cache: TargetChecker) throws {
        try cache.requireOpenItem(field: "itemId", id: itemId)
    }

    func checkAgainstPending(appliedBy: [String: String?]) throws {
        guard let itemId else { return }
        try MissedBillingItem.requireNotApplied([("itemId", itemId)], appliedBy: appliedBy)
    }

    var targetIds: [String] { itemId.map { [$0] } ?? [] }
    var supersedeKey: String? { itemId.map(MissedBillingItem.key) }
    func isRefused(by targets: [JSONObject]) -> Bool { MissedBillingItem.anyApplied(targets) }

    func applyEffect(to item: inout JSONObject) {
        guard let action else { return }
        item["status"] = .string(action.status)
        item["snoozeUntil"] = action == .snooze ? snoozeUntil ?? .null : .null
    }
}
