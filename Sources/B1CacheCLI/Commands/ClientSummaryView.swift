import B1Cache
import Foundation

/// `show --client ID` on a terminal: the client's figures at a glance (`ClientSummary`), then its pending and
/// failed writes, and how to get the items themselves.
enum ClientSummaryView {
    static func print(_ picture: ClientPicture, now: Date, terminal: Terminal) {
        let figures = ClientSummary(picture, now: now)
        let money = { (amount: Decimal) in Format.money(amount, currency: figures.currency) }
        var heading = terminal.paint(figures.name, .bold) + "  " + picture.clientId
        if let status = figures.status { heading += " · " + status }
        terminal.line(heading)
        if let client = picture.client {
            let contact = [client["billingEmail"]?.stringValue, client["primaryContact"]?["name"]?.stringValue]
                .compactMap { $0 }
            if !contact.isEmpty { terminal.line(contact.joined(separator: " · ")) }
        } else {
            terminal.line(terminal.paint("not in the cached clients (removed on the server?); its items:", .yellow))
        }
        terminal.line()
        let overdueNote =
            figures.oldestOverdueDue.map { "oldest due \(Timestamp.string($0).prefix(10))" } ?? ""
        let rows: [[String]] = [
            ["MRR", money(figures.mrr), plural(figures.activeContracts, "active contract")],
            [
                "Subscriptions", money(figures.activeSubscriptions.amount),
                plural(figures.activeSubscriptions.count, "active subscription") + " a month",
            ],
            ["AR", money(figures.receivable.amount), plural(figures.receivable.count, "invoice") + " due"],
            [
                "  overdue", colour(money(figures.overdue.amount), figures.overdue.count > 0 ? .red : nil, terminal),
                [plural(figures.overdue.count, "invoice"), overdueNote].filter { !$0.isEmpty }.joined(separator: ", "),
            ],
            [
                "Open missed billing",
                colour(
                    money(figures.openMissedBilling.amount), figures.openMissedBilling.count > 0 ? .yellow : nil,
                    terminal),
                plural(figures.openMissedBilling.count, "item") + " a month",
            ],
            [
                "Drafts to approve", money(figures.draftsAwaitingApproval.amount),
                plural(figures.draftsAwaitingApproval.count, "generated invoice"),
            ],
        ]
        for row in Format.table(rows, rightAligned: [1]) { terminal.line(row) }
        terminal.line()
        writes(picture.pendingWrites, title: "Pending writes", terminal: terminal) { write in
            write.lastError.map { "last try: \($0)" } ?? "not sent yet"
        }
        if !picture.pendingWrites.isEmpty {
            terminal.line(terminal.paint("  not on the server yet: run 'b1cache flush' when online", .yellow))
        }
        writes(picture.failedWrites, title: "Failed writes", terminal: terminal) { write in
            terminal.paint(write.lastError ?? "failed", .red)
        }
        if !picture.failedWrites.isEmpty {
            terminal.line("  see 'b1cache queue --failed', then 'b1cache retry ID' or 'b1cache drop ID'")
        }
        terminal.line()
        let counts = picture.sections.map { "\($0.items.count) \($0.collection.rawValue)" }
        terminal.line("Items: " + counts.joined(separator: ", ") + " (as the pending writes will leave them)")
        terminal.line(
            terminal.paint(
                "every item: b1cache show --client \(picture.clientId) --json (or --csv)", .dim))
    }

    static func writes(
        _ writes: [PendingWrite], title: String, terminal: Terminal, note: (PendingWrite) -> String
    ) {
        terminal.line(title.padding(toLength: 16, withPad: " ", startingAt: 0) + String(writes.count))
        let rows = writes.map { write in
            [
                "  " + String(write.id.prefix(8)), write.kind.rawValue, write.touchedItemIds.joined(separator: ", "),
                note(write),
            ]
        }
        for row in Format.table(rows) { terminal.line(row) }
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    static func colour(_ text: String, _ colour: Terminal.Colour?, _ terminal: Terminal) -> String {
        colour.map { terminal.paint(text, $0) } ?? text
    }
}

extension Format {
    /// `NZD 1,234.50`: two decimals, thousands grouped (the currency code left out when unknown).
    static func money(_ amount: Decimal, currency: String?) -> String {
        var value = amount
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        let negative = rounded < 0
        let text = String(format: "%.2f", abs(NSDecimalNumber(decimal: rounded).doubleValue))
        let parts = text.split(separator: ".")
        var whole = String(parts.first ?? "0")
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        let number = (negative ? "-" : "") + whole + grouped + "." + (parts.count > 1 ? parts[1] : "00")
        return currency.map { "\($0) \(number)" } ?? number
    }
}
