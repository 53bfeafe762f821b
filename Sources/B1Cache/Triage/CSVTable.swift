import Foundation

/// Items as RFC 4180 CSV, for a spreadsheet or an email attachment (`show … --csv`; docs/FORMATS.md, "CSV").
///
/// One header row, then one record per item, each line ended by CRLF. A field is quoted when it holds a comma, a
/// double quote, CR or LF (quotes inside doubled). Cells: a string as it is; a number exactly as written in the
/// file (`12.50` stays `12.50`); `true`/`false`; an object or array as compact JSON with sorted keys, as
/// `show` prints it; null and a missing field both as an empty cell.
public struct CSVTable: Sendable {
    /// The columns, in order.
    public let fields: [String]

    /// The columns of `items` when none are chosen: `_collection` (a client's picture), `id`, the other fields in
    /// sorted order, then b1cache's own marks (`_pending`, `_sync`), over the union of every item's fields.
    public static func columns(of items: [JSONValue]) -> [String] {
        var seen = Set<String>()
        for item in items { for key in item.objectValue?.keys ?? [] { seen.insert(key) } }
        let leading = ["_collection", "id"].filter { seen.contains($0) }
        let rest = seen.subtracting(leading).sorted { JSONObject.precedes($0, $1) }
        return leading + rest.filter { !$0.hasPrefix("_") } + rest.filter { $0.hasPrefix("_") }
    }

    /// The table of `items` with the chosen `fields` (nil: `columns(of:)`).
    /// - Parameter list: the fields as given (`id,number,total`), for the error message.
    /// - Throws: `TriageError.unknownField` for a field no item has (with items to tell), `.emptyFieldName`.
    public init(items: [JSONValue], fields list: String?) throws {
        let known = Self.columns(of: items)
        guard let list else {
            fields = known
            return
        }
        let chosen = list.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if chosen.contains(where: \.isEmpty) { throw TriageError.emptyFieldName(list: list) }
        if !items.isEmpty, let unknown = chosen.first(where: { !known.contains($0) }) {
            throw TriageError.unknownField(name: unknown, known: known)
        }
        fields = chosen
    }

    /// What ends every line, the header's included.
    public static let lineEnd = "\r\n"

    /// The header line, without its line end.
    public var header: String { record(fields) }

    /// One item's line, without its line end.
    public func row(_ item: JSONValue) -> String { record(fields.map { Self.cell(item[$0]) }) }

    /// The whole table, header first, every line ended by CRLF.
    public func render(_ items: [JSONValue]) -> String {
        ([header] + items.map(row)).map { $0 + Self.lineEnd }.joined()
    }

    /// A value as its cell text (before quoting).
    public static func cell(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let text)?: text
        case .number(let text)?: text
        case .bool(let flag)?: flag ? "true" : "false"
        case let nested?: JSONWriter.compactString(nested)
        }
    }

    /// `text` quoted when RFC 4180 needs it.
    public static func quoted(_ text: String) -> String {
        let special = text.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        return special ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    private func record(_ cells: [String]) -> String { cells.map(Self.quoted).joined(separator: ",") }
}
