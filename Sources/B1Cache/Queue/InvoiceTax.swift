import Foundation

/// The tax arithmetic of a generated invoice, exactly as the server does it when it applies a line-tax edit
/// (docs/PROTOCOL.md; `apply_invoice_line_tax` in Tests/ReferenceServer/store.py), so `show --with-pending` shows
/// the amounts the server will return:
///
/// - the line's `taxAmount` = round(`amount` × `taxRate` / 100) to cents, half away from zero, where `amount` is
///   the line's `amount`, or `quantity` × `unitPrice` when it has none;
/// - the invoice's `taxTotal` = round(Σ lines' `taxAmount`), `total` = round(`subtotal` + Σ `taxAmount`), where
///   `subtotal` is the invoice's, or Σ lines' `amount` when it has none.
///
/// Numbers are decimals, not doubles, read as the server reads JSON: an integer literal exactly, any other number
/// as the shortest text of the double it parses to (Python's `Decimal(repr(float))`); a missing or non-number
/// value counts as 0. The server's decimals carry 28 significant digits and these 38, which only differs for
/// amounts whose product has more than 28 digits.
enum InvoiceTax {
    /// Sets the line's `taxAmount` from its amount and its (already changed) `taxRate`.
    static func recomputeLine(_ line: inout JSONObject) {
        let amount =
            isNumber(line["amount"])
            ? decimal(line["amount"])
            : decimal(line["quantity"]) * decimal(line["unitPrice"])
        line["taxAmount"] = money(amount * decimal(line["taxRate"]) / 100)
    }

    /// Sets the invoice's `taxTotal` and `total` from its lines.
    static func recomputeTotals(_ invoice: inout JSONObject) {
        let lines = (invoice["lines"]?.arrayValue ?? []).compactMap(\.objectValue)
        let taxTotal = lines.reduce(Decimal(0)) { $0 + decimal($1["taxAmount"]) }
        let subtotal =
            isNumber(invoice["subtotal"])
            ? decimal(invoice["subtotal"])
            : lines.reduce(Decimal(0)) { $0 + decimal($1["amount"]) }
        invoice["taxTotal"] = money(taxTotal)
        invoice["total"] = money(subtotal + taxTotal)
    }

    static func isNumber(_ value: JSONValue?) -> Bool { value?.doubleValue?.isFinite == true }

    static func decimal(_ value: JSONValue?) -> Decimal {
        guard case .number(let text)? = value, let double = Double(text), double.isFinite else { return 0 }
        let integral = !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        return Decimal(string: integral ? text : "\(double)", locale: Locale(identifier: "en_US_POSIX")) ?? 0
    }

    /// Rounded to cents, half away from zero (Python's `ROUND_HALF_UP`), as a JSON number.
    static func money(_ value: Decimal) -> JSONValue {
        var input = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, 2, .plain)
        return Double(rounded.description).map(JSONValue.double) ?? .null
    }
}
