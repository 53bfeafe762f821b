import Foundation

/// A JSON value kept exactly as the server sent it.
///
/// Items are stored as `JSONValue`, not as typed models, so fields this version of b1cache does not know
/// survive a read-modify-write. Numbers keep their literal text (`12.50` stays `12.50`, a 20-digit id stays
/// exact); objects keep their keys sorted, which is also the order they are written in.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal text, already validated against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number from an integer.
    public static func integer<T: BinaryInteger>(_ value: T) -> JSONValue { .number(String(value)) }

    /// A number from a double; integral values are written without a fraction (`15`, not `15.0`).
    public static func double(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(String(value))
    }

    /// The string, when this is one.
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// The boolean, when this is one.
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The object, when this is one.
    public var objectValue: JSONObject? { if case .object(let value) = self { value } else { nil } }
    /// The array, when this is one.
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    /// True for `null`.
    public var isNull: Bool { self == .null }
    /// The number as a double, when this is one (may round; the text is kept in `.number`).
    public var doubleValue: Double? { if case .number(let text) = self { Double(text) } else { nil } }
    /// The value as an integer, when it is a number written without fraction or exponent that fits.
    public var intValue: Int? { if case .number(let text) = self { Int(text) } else { nil } }

    /// The member `key` of an object; nil for other values or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object whose members are kept sorted by key (Unicode code point order, as `jq -S` and
/// Python's `sort_keys` do), so writing it needs no sort and diffs stay stable.
public struct JSONObject: Sendable, Equatable {
    /// The members in the order they were read or added (written sorted).
    public private(set) var members: [(key: String, value: JSONValue)]

    /// An empty object.
    public init() { members = [] }

    /// Builds an object from members in any order; for duplicate keys the last one wins, as in `jq`.
    public init(_ pairs: [(key: String, value: JSONValue)]) {
        members = pairs
        if !JSONObject.isStrictlySorted(members) {
            // Stable sort keeps duplicates in input order; then keep the last of each run.
            let sorted = members.enumerated().sorted {
                JSONObject.precedes($0.element.key, $1.element.key)
                    || ($0.element.key == $1.element.key && $0.offset < $1.offset)
            }.map(\.element)
            var unique: [(key: String, value: JSONValue)] = []
            unique.reserveCapacity(sorted.count)
            for member in sorted {
                if let last = unique.last, last.key == member.key {
                    unique[unique.count - 1] = member
                } else {
                    unique.append(member)
                }
            }
            members = unique
        }
    }

    /// An object of a dictionary's members.
    public init(_ dictionary: [String: JSONValue]) {
        self.init(dictionary.map { (key: $0.key, value: $0.value) })
    }

    /// Equal when both hold the same members with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// How many members.
    public var count: Int { members.count }
    /// The member names, in order.
    public var keys: [String] { members.map(\.key) }

    /// The member `key`; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get {
            let index = insertionIndex(of: key)
            return index < members.count && members[index].key == key ? members[index].value : nil
        }
        set {
            let index = insertionIndex(of: key)
            let present = index < members.count && members[index].key == key
            switch (newValue, present) {
            case (let value?, true): members[index].value = value
            case (let value?, false): members.insert((key: key, value: value), at: index)
            case (nil, true): members.remove(at: index)
            case (nil, false): break
            }
        }
    }

    /// Code point order, which for UTF-8 is plain byte order.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    static func isStrictlySorted(_ members: [(key: String, value: JSONValue)]) -> Bool {
        var index = 1
        while index < members.count {
            if !precedes(members[index - 1].key, members[index].key) { return false }
            index += 1
        }
        return true
    }

    private func insertionIndex(of key: String) -> Int {
        var low = 0, high = members.count
        while low < high {
            let middle = (low + high) / 2
            if JSONObject.precedes(members[middle].key, key) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// `["id": "x"]`: an object literal.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `"text"`: a string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `true`: a boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `15`: an integer literal.
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    /// `["a", 1]`: an array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// `["id": "x"]`: an object literal.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
}
