import Foundation

/// Typed access to the members of a file's top-level object, with errors that name the file and the field.
struct JSONFields {
    let object: JSONObject
    let path: String

    init(_ value: JSONValue, path: String, what: String) throws {
        guard let object = value.objectValue else {
            throw StoreError.corrupt(path: path, reason: "expected \(what) object, found \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    func fail(_ field: String, _ expected: String) -> StoreError {
        var found = object[field]?.typeName ?? "nothing"
        if case .number(let text)? = object[field] {
            // Name the number (huge ones cut short): "found a number" alone does not say what is wrong with 1e400.
            found += " (" + (text.count > 40 ? text.prefix(40) + "…" : text) + ")"
        }
        return .corrupt(path: path, reason: "'\(field)' should be \(expected), found \(found)")
    }

    func string(_ field: String) throws -> String {
        guard let value = object[field]?.stringValue else { throw fail(field, "a string") }
        return value
    }

    func optionalString(_ field: String) throws -> String? {
        guard let value = object[field], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw fail(field, "a string or null") }
        return text
    }

    func integer(_ field: String) throws -> Int {
        guard let value = object[field]?.intValue else { throw fail(field, "an integer") }
        return value
    }

    /// The largest count a file may hold: 2^53 − 1, the largest integer `jq` and JavaScript read exactly.
    static let largestCount = 9_007_199_254_740_991

    /// A revision, item count, byte size or attempt count: a whole number from 0 to `largestCount`. Bounded so
    /// that a hand-edited or hostile file cannot make the next `+ 1` overflow (a trap, not an error).
    func count(_ field: String) throws -> Int {
        guard let value = object[field]?.intValue, (0...JSONFields.largestCount).contains(value) else {
            throw fail(field, "a whole number from 0 to \(JSONFields.largestCount)")
        }
        return value
    }

    func bool(_ field: String) throws -> Bool {
        guard let value = object[field]?.boolValue else { throw fail(field, "true or false") }
        return value
    }

    func optionalDate(_ field: String) throws -> Date? {
        guard let text = try optionalString(field) else { return nil }
        guard let date = Timestamp.date(text) else { throw fail(field, "an ISO 8601 date") }
        return date
    }

    /// Checks `format` and `schemaVersion`, migrating nothing yet: schema 1 is the first published one.
    func checkFormat(_ expected: String, currentSchema: Int) throws -> Int {
        let format = try string("format")
        guard format == expected else {
            throw StoreError.corrupt(path: path, reason: "format is '\(format)', expected '\(expected)'")
        }
        let version = try integer("schemaVersion")
        if version > currentSchema { throw StoreError.newerSchema(path: path, version: version) }
        if version < 1 { throw StoreError.unsupportedSchema(path: path, version: version) }
        return version
    }
}

extension JSONValue {
    /// A string, or null for nil.
    public static func optionalString(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
    /// A date to the second (`Timestamp.string`), or null for nil.
    public static func optionalDate(_ date: Date?) -> JSONValue { date.map { .string(Timestamp.string($0)) } ?? .null }
    /// A date to the millisecond (`Timestamp.preciseString`), or null for nil.
    public static func optionalPreciseDate(_ date: Date?) -> JSONValue {
        date.map { .string(Timestamp.preciseString($0)) } ?? .null
    }
}
