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
        return columns(fields: seen)
    }

    /// `columns(of:)` from the union of the items' field names, gathered by a caller that does not hold the items.
    public static func columns(fields seen: Set<String>) -> [String] {
        let leading = ["_collection", "id"].filter { seen.contains($0) }
        let rest = seen.subtracting(leading).sorted { JSONObject.precedes($0, $1) }
        return leading + rest.filter { !$0.hasPrefix("_") } + rest.filter { $0.hasPrefix("_") }
    }

    /// The table of `items` with the chosen `fields` (nil: `columns(of:)`).
    /// - Parameter list: the fields as given (`id,number,total`), for the error message.
    /// - Throws: `TriageError.unknownField` for a field no item has (with items to tell), `.emptyFieldName`.
    public init(items: [JSONValue], fields list: String?) throws {
        try self.init(columns: Self.columns(of: items), anyItems: !items.isEmpty, fields: list)
    }

    /// The table of items whose columns are `known` (`columns(fields:)`), with the chosen `fields` (nil: `known`).
    /// - Parameter anyItems: false when there are no items, so no field can be refused for being unknown.
    /// - Throws: as `init(items:fields:)`.
    public init(columns known: [String], anyItems: Bool, fields list: String?) throws {
        guard let list else {
            fields = known
            return
        }
        let chosen = Self.names(in: list)
        if chosen.contains(where: \.isEmpty) { throw TriageError.emptyFieldName(list: list) }
        if anyItems, let unknown = chosen.first(where: { !known.contains($0) }) {
            throw TriageError.unknownField(name: unknown, known: known)
        }
        fields = chosen
    }

    /// The field names of a `--fields` list (`id, number,total`), trimmed, empty ones kept (they are refused).
    public static func names(in list: String) -> [String] {
        list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// What ends every line, the header's included.
    public static let lineEnd = "\r\n"

    /// The header line, without its line end.
    public var header: String { String(decoding: bytes { $0.appendRecord(fields.map { .string($0) }) }, as: UTF8.self) }

    /// One item's line, without its line end.
    public func row(_ item: JSONValue) -> String {
        String(decoding: bytes { $0.appendRow(item, fields: fields) }, as: UTF8.self)
    }

    /// The whole table, header first, every line ended by CRLF.
    public func render(_ items: [JSONValue]) -> String {
        String(decoding: encoded(items), as: UTF8.self)
    }

    /// The whole table as UTF-8, header first, every line ended by CRLF (the fast form of `render`).
    public func encoded(_ items: [JSONValue]) -> [UInt8] {
        Array((header + Self.lineEnd).utf8) + encodedRows(items[...])
    }

    /// The rows of `items` as UTF-8, each ended by CRLF, without the header: a long table in pieces.
    public func encodedRows(_ items: ArraySlice<JSONValue>) -> [UInt8] {
        bytes { output in
            for item in items {
                output.appendRow(item, fields: fields)
                output.append(contentsOf: [0x0D, 0x0A])
            }
        }
    }

    /// A value as its cell text (before quoting).
    public static func cell(_ value: JSONValue?) -> String {
        String(decoding: bytes { $0.appendCell(value) }, as: UTF8.self)
    }

    /// `text` quoted when RFC 4180 needs it.
    public static func quoted(_ text: String) -> String {
        String(decoding: bytes { $0.appendQuoted(Array(text.utf8)) }, as: UTF8.self)
    }

    private func bytes(_ build: (inout [UInt8]) -> Void) -> [UInt8] { Self.bytes(build) }

    private static func bytes(_ build: (inout [UInt8]) -> Void) -> [UInt8] {
        var output: [UInt8] = []
        build(&output)
        return output
    }
}

extension [UInt8] {
    fileprivate mutating func appendRow(_ item: JSONValue, fields: [String]) {
        appendRecord(fields.map { item[$0] })
    }

    fileprivate mutating func appendRecord(_ values: [JSONValue?]) {
        var cell: [UInt8] = []
        for (index, value) in values.enumerated() {
            if index > 0 { append(0x2C) }
            cell.removeAll(keepingCapacity: true)
            cell.appendCell(value)
            appendQuoted(cell)
        }
    }

    fileprivate mutating func appendCell(_ value: JSONValue?) {
        switch value {
        case nil, .null?: break
        case .string(let text)?: append(contentsOf: text.utf8)
        case .number(let text)?: append(contentsOf: text.utf8)
        case .bool(let flag)?: append(contentsOf: (flag ? "true" : "false").utf8)
        case let nested?: JSONWriter.writeCompact(nested, into: &self)
        }
    }

    /// `cell`, in double quotes with its quotes doubled when it holds a comma, a quote, CR or LF.
    fileprivate mutating func appendQuoted(_ cell: [UInt8]) {
        guard cell.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else {
            append(contentsOf: cell)
            return
        }
        append(0x22)
        for byte in cell {
            append(byte)
            if byte == 0x22 { append(0x22) }
        }
        append(0x22)
    }
}
