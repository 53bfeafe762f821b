import Foundation

/// The figures of a client's picture, for a person at a glance (`show --client` on a terminal), computed from the
/// picture's items as the pending writes leave them. Amounts are exact sums of the items' numbers, in the
/// client's currency.
///
/// - MRR: quantity × unitPrice of the active lines of active contracts (as the dashboard's `mrr`).
/// - AR: `amountDue` of AUTHORISED invoices with something due; overdue: those a whole day or more past `dueDate`.
/// - Open missed billing: items with status `open` (a pending snooze or apply has already moved them on).
/// - Drafts awaiting approval: generated invoices with status `draft`, and their `total`.
public struct ClientSummary: Sendable, Equatable {
    /// A count and an amount.
    public struct Tally: Sendable, Equatable {
        /// How many items.
        public var count = 0
        /// Their sum.
        public var amount: Decimal = 0
    }

    /// The client's name (its id when the clients collection does not hold it).
    public var name: String
    /// The client's status (`active`, `inactive`), if known.
    public var status: String?
    /// The currency of the amounts (the client's, else that of its first item with one).
    public var currency: String?
    /// Monthly recurring revenue from contracts.
    public var mrr: Decimal
    /// Active contracts.
    public var activeContracts: Int
    /// Active subscriptions and their `monthlyAmount`.
    public var activeSubscriptions: Tally
    /// Accounts receivable.
    public var receivable: Tally
    /// Of the receivable, what is overdue.
    public var overdue: Tally
    /// The earliest `dueDate` among overdue invoices.
    public var oldestOverdueDue: Date?
    /// Open missed billing, by `monthlyAmount`.
    public var openMissedBilling: Tally
    /// Generated drafts awaiting approval, by `total`.
    public var draftsAwaitingApproval: Tally
    /// Pending writes touching the client's items.
    public var pendingWrites: Int
    /// Failed writes touching the client's items.
    public var failedWrites: Int

    /// The figures of `picture`, overdue as of `now`.
    public init(_ picture: ClientPicture, now: Date = Date()) {
        let client = picture.client
        name = client?["name"]?.stringValue ?? picture.clientId
        status = client?["status"]?.stringValue
        currency =
            client?["currency"]?.stringValue
            ?? picture.sections.lazy.flatMap(\.items).compactMap { $0["currency"]?.stringValue }.first
        var mrr: Decimal = 0
        var activeContracts = 0
        for contract in picture[.contracts].items where contract["status"] == "active" {
            activeContracts += 1
            for line in contract["lines"]?.arrayValue ?? [] where line["status"] == "active" {
                mrr += Self.decimal(line["quantity"]) * Self.decimal(line["unitPrice"])
            }
        }
        self.mrr = mrr
        self.activeContracts = activeContracts
        activeSubscriptions = Self.tally(picture[.subscriptions].items, "monthlyAmount") { $0["status"] == "active" }
        let receivable = picture[.invoices].items.filter {
            $0["status"] == "AUTHORISED" && Self.decimal($0["amountDue"]) > 0
        }
        self.receivable = Self.tally(receivable, "amountDue") { _ in true }
        let overdue = receivable.filter { invoice in
            Self.date(invoice["dueDate"]).map { now.timeIntervalSince($0) >= 86_400 } ?? false
        }
        self.overdue = Self.tally(overdue, "amountDue") { _ in true }
        oldestOverdueDue = overdue.compactMap { Self.date($0["dueDate"]) }.min()
        openMissedBilling = Self.tally(picture[.missedBilling].items, "monthlyAmount") { $0["status"] == "open" }
        draftsAwaitingApproval = Self.tally(picture[.generatedInvoices].items, "total") { $0["status"] == "draft" }
        pendingWrites = picture.pendingWrites.count
        failedWrites = picture.failedWrites.count
    }

    static func tally(_ items: [JSONValue], _ field: String, where include: (JSONValue) -> Bool) -> Tally {
        var tally = Tally()
        for item in items where include(item) {
            tally.count += 1
            tally.amount += decimal(item[field])
        }
        return tally
    }

    /// A JSON number as an exact decimal (0 for anything else).
    static func decimal(_ value: JSONValue?) -> Decimal {
        guard case .number(let text)? = value else { return 0 }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? 0
    }

    static func date(_ value: JSONValue?) -> Date? { value?.stringValue.flatMap(Timestamp.date) }
}
