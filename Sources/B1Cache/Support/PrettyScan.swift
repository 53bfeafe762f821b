import Foundation

/// Checks that bytes are exactly what `JSONWriter.writePretty(value, indent:)` writes for the value they hold, and
/// valid JSON as `JSONParser` reads it, without building the value: two-space indentation, `": "`, keys strictly
/// sorted, strings escaped only as the writer escapes them, numbers as written. It vouches for a strict subset of
/// what the parser accepts; anything else (a key with an escape, `\/`, `\u0041`, other spacing, depth past the
/// parser's limit, invalid JSON) makes it answer nil, and the caller parses those bytes instead.
struct PrettyScan {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    /// The id of an item: its string member `id`, or nil text when it has none (the caller reports that).
    struct ItemID { var text: String? }

    /// Scans one item (an object) at `indent`, whose array is at `depth`; nil when the bytes are not vouched for.
    mutating func item(indent: Int, depth: Int) -> ItemID? {
        guard at(UInt8(ascii: "{")) else { return nil }
        var id: String?
        guard object(indent: indent, depth: depth + 1, id: &id, readsID: true) else { return nil }
        return ItemID(text: id)
    }

    private func at(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

    private mutating func expect(_ byte: UInt8) -> Bool {
        guard at(byte) else { return false }
        position += 1
        return true
    }

    /// A newline and `2 × indent` spaces.
    private mutating func newline(_ indent: Int) -> Bool {
        guard expect(0x0A), position + 2 * indent <= bytes.count else { return false }
        for offset in 0..<(2 * indent) where bytes[position + offset] != 0x20 { return false }
        position += 2 * indent
        return true
    }

    private mutating func value(indent: Int, depth: Int) -> Bool {
        guard position < bytes.count else { return false }
        var ignored: String?
        switch bytes[position] {
        case UInt8(ascii: "{"): return object(indent: indent, depth: depth + 1, id: &ignored, readsID: false)
        case UInt8(ascii: "["): return array(indent: indent, depth: depth + 1)
        case UInt8(ascii: "\""): return string(allowEscapes: true) != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return false
        }
    }

    /// An object; with `readsID`, `id` is set to its member `id` when that is a string (one with an escape is not
    /// vouched for: the caller parses the item and takes the decoded id).
    private mutating func object(indent: Int, depth: Int, id: inout String?, readsID: Bool) -> Bool {
        guard depth <= JSONParser.maximumDepth, expect(UInt8(ascii: "{")) else { return false }
        if expect(UInt8(ascii: "}")) { return true }
        var previous: Range<Int>?
        while true {
            guard newline(indent + 1), let key = string(allowEscapes: false) else { return false }
            // Keys strictly ascending in byte order (no escapes, so the bytes are the key's UTF-8).
            if let previous, !precedes(previous, key) { return false }
            previous = key
            guard expect(UInt8(ascii: ":")), expect(0x20) else { return false }
            if readsID, isID(key), at(UInt8(ascii: "\"")) {
                guard let text = string(allowEscapes: false) else { return false }
                id = String(decoding: UnsafeBufferPointer(rebasing: bytes[text]), as: UTF8.self)
            } else if !value(indent: indent + 1, depth: depth) {
                return false
            }
            if expect(UInt8(ascii: ",")) { continue }
            return newline(indent) && expect(UInt8(ascii: "}"))
        }
    }

    private mutating func array(indent: Int, depth: Int) -> Bool {
        guard depth <= JSONParser.maximumDepth, expect(UInt8(ascii: "[")) else { return false }
        if expect(UInt8(ascii: "]")) { return true }
        while true {
            guard newline(indent + 1), value(indent: indent + 1, depth: depth) else { return false }
            if expect(UInt8(ascii: ",")) { continue }
            return newline(indent) && expect(UInt8(ascii: "]"))
        }
    }

    private func isID(_ key: Range<Int>) -> Bool {
        key.count == 2 && bytes[key.lowerBound] == UInt8(ascii: "i") && bytes[key.lowerBound + 1] == UInt8(ascii: "d")
    }

    private func precedes(_ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
        UnsafeBufferPointer(rebasing: bytes[lhs]).lexicographicallyPrecedes(UnsafeBufferPointer(rebasing: bytes[rhs]))
    }

    private mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        let expected = UnsafeBufferPointer(start: text.utf8Start, count: count)
        for offset in 0..<count where bytes[position + offset] != expected[offset] { return false }
        position += count
        return true
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func digits() -> Bool {
        guard position < bytes.count, isDigit(bytes[position]) else { return false }
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        return true
    }

    /// The JSON number grammar (the writer writes a number's text as it was read, so every valid one is canonical).
    private mutating func number() -> Bool {
        _ = expect(UInt8(ascii: "-"))
        if !expect(UInt8(ascii: "0")) { guard digits() else { return false } }
        if expect(UInt8(ascii: ".")) { guard digits() else { return false } }
        if expect(UInt8(ascii: "e")) || expect(UInt8(ascii: "E")) {
            if !expect(UInt8(ascii: "+")) { _ = expect(UInt8(ascii: "-")) }
            guard digits() else { return false }
        }
        return true
    }

    /// A string as the writer writes it; returns the range between the quotes. Escapes are those the writer makes
    /// (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, `\u00xx` for other control characters), and only with
    /// `allowEscapes`; raw bytes are valid UTF-8 with no control character.
    private mutating func string(allowEscapes: Bool) -> Range<Int>? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return start..<(position - 1)
            case UInt8(ascii: "\\"):
                guard allowEscapes, escape() else { return nil }
            case 0..<0x20:
                return nil
            case 0x80...:
                guard utf8Sequence() else { return nil }
            default:
                position += 1
            }
        }
        return nil
    }

    private mutating func escape() -> Bool {
        guard position + 1 < bytes.count else { return false }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"),
            UInt8(ascii: "b"), UInt8(ascii: "f"):
            position += 2
            return true
        case UInt8(ascii: "u"):
            // Only `\u00xx`, lowercase, for a control character without a short escape.
            guard position + 6 <= bytes.count, bytes[position + 2] == UInt8(ascii: "0"),
                bytes[position + 3] == UInt8(ascii: "0")
            else { return false }
            let high = bytes[position + 4], low = bytes[position + 5]
            guard high == UInt8(ascii: "0") || high == UInt8(ascii: "1") else { return false }
            let lowValue: UInt8
            switch low {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): lowValue = low - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): lowValue = low - UInt8(ascii: "a") + 10
            default: return false
            }
            let scalar = (high - UInt8(ascii: "0")) << 4 | lowValue
            guard ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(scalar) else { return false }
            position += 6
            return true
        default:
            return false
        }
    }

    /// One well-formed UTF-8 sequence of two to four bytes (Unicode Table 3-7: no overlong forms, no surrogates,
    /// nothing past U+10FFFF), as `String(validating:)` accepts.
    private mutating func utf8Sequence() -> Bool {
        let lead = bytes[position]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; second = 0x80...0x9F
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; second = 0x80...0x8F
        default: return false
        }
        guard position + length <= bytes.count, second.contains(bytes[position + 1]) else { return false }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[position + offset]) { return false }
        position += length
        return true
    }
}
