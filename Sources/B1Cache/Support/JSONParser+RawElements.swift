import Foundation

extension JSONParser {
    /// One element of the array that `parse(_:rawElementsOf:indent:element:)` reads without keeping a tree.
    struct RawElement {
        /// Where the element's bytes are in the text.
        var range: Range<Int>
        /// Its string member `id`, when it is an object with one.
        var id: String?
        /// The element parsed, when its bytes are not exactly what `JSONWriter.writePretty(_:indent:)` writes for it
        /// (a hand-edited file, another writer's spacing or escapes); nil when they are, so the bytes can be kept as
        /// they are.
        var value: JSONValue?
    }

    /// Parses a text whose top-level object holds one large array member, `key` (an envelope's `items`), without
    /// building that array: each element is validated as the full parser does and handed to `element` as its byte
    /// range and id (or, when its bytes are not in the pretty writer's form at `indent`, as its parsed value).
    ///
    /// Returns the top-level value with that member as an empty array, and how many members named `key` the object
    /// has (more than one means the last one wins, as in `parse`, which this reading does not follow: read such a
    /// text with `parse`). A text whose top level is not an object, or whose `key` is not an array, is parsed as
    /// `parse` does and `element` is not called.
    /// - Throws: `JSONParseError` exactly where `parse` would throw it.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, rawElementsOf key: String, indent: Int, element: (RawElement) -> Void
    ) throws(JSONParseError) -> (value: JSONValue, occurrences: Int) {
        var reader = JSONReader(bytes: bytes.bindMemory(to: UInt8.self))
        reader.skipWhitespace()
        let result: (value: JSONValue, occurrences: Int)
        if reader.position < reader.bytes.count, reader.bytes[reader.position] == UInt8(ascii: "{") {
            result = try reader.parseTopObject(rawElementsOf: key, indent: indent, element: element)
        } else {
            result = (try reader.parseValue(depth: 0), 0)
        }
        reader.skipWhitespace()
        if reader.position != reader.bytes.count { throw reader.error("unexpected text after the JSON value") }
        return result
    }
}

extension JSONReader {
    /// `parseObject` at the top level, reading the array member `key` element by element.
    mutating func parseTopObject(
        rawElementsOf key: String, indent: Int, element: (JSONParser.RawElement) -> Void
    ) throws(JSONParseError) -> (value: JSONValue, occurrences: Int) {
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        var occurrences = 0
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return (.object(JSONObject()), 0)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key")
            }
            let name = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            if name == key { occurrences += 1 }
            if name == key, position < bytes.count, bytes[position] == UInt8(ascii: "[") {
                try readRawElements(indent: indent, element: element)
                members.append((key: name, value: .array([])))
            } else {
                members.append((key: name, value: try parseValue(depth: 1)))
            }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; break }
            throw error("expected ',' or '}'")
        }
        return (.object(JSONObject(members)), occurrences)
    }

    /// `parseArray` at depth 2, each element checked by `PrettyScan` and parsed only when that does not vouch for it.
    private mutating func readRawElements(
        indent: Int, element: (JSONParser.RawElement) -> Void
    ) throws(JSONParseError) {
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            let start = position
            var scan = PrettyScan(bytes: bytes, position: start)
            if let id = scan.item(indent: indent, depth: 2) {
                position = scan.position
                element(JSONParser.RawElement(range: start..<position, id: id.text, value: nil))
            } else {
                let value = try parseValue(depth: 2)
                element(JSONParser.RawElement(range: start..<position, id: value["id"]?.stringValue, value: value))
            }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; break }
            throw error("expected ',' or ']'")
        }
    }
}
