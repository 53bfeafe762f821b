import Foundation

/// How much disk a cache's re-downloadable data may take (issue 16): 100 MB unless the app says otherwise, or, for
/// the command, `--budget SIZE` or the `B1CACHE_BUDGET` environment variable (docs/OPERATIONS.md, "Storage
/// budget"). Pending and failed writes are never counted against it, and nothing is ever removed for it: a cache
/// over budget still syncs, and says so (`StorageUse`).
public struct StorageBudget: Sendable, Equatable, CustomStringConvertible {
    /// The budget in bytes (more than 0).
    public var bytes: Int64

    /// 100 MB (decimal, as `inspect` prints sizes): what the app reserves per user for offline data.
    public static let `default` = StorageBudget(checkedBytes: 100_000_000)
    /// The environment variable the command reads when `--budget` is not given.
    public static let environmentVariable = "B1CACHE_BUDGET"

    private init(checkedBytes: Int64) { bytes = checkedBytes }

    /// A budget of `bytes`.
    /// - Throws: `TriageError.invalidBudget` unless `bytes` is more than 0.
    public init(bytes: Int64) throws {
        guard bytes > 0 else { throw TriageError.invalidBudget(text: String(bytes), source: "the budget") }
        self.bytes = bytes
    }

    /// Parses `100MB`, `1.5 GB`, `512KiB`, `250000000` (bytes); units are case-insensitive, K/M/G alone mean KB/MB/GB.
    /// - Parameter source: where the text came from, for the error (`--budget`, `B1CACHE_BUDGET`).
    /// - Throws: `TriageError.invalidBudget` naming `source` for anything else, zero, or more than 1 PB.
    public init(parsing text: String, source: String = "--budget") throws {
        let units: [(suffix: String, factor: Double)] = [
            ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("kb", 1e3), ("mb", 1e6), ("gb", 1e9),
            ("k", 1e3), ("m", 1e6), ("g", 1e9), ("b", 1),
        ]
        var number = text.trimmingCharacters(in: .whitespaces).lowercased()
        var factor = 1.0
        if let unit = units.first(where: { number.hasSuffix($0.suffix) }) {
            number = String(number.dropLast(unit.suffix.count)).trimmingCharacters(in: .whitespaces)
            factor = unit.factor
        }
        let digits = number.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard digits, let amount = Double(number), amount.isFinite, amount * factor >= 1, amount * factor <= 1e15
        else { throw TriageError.invalidBudget(text: text, source: source) }
        bytes = Int64((amount * factor).rounded())
    }

    /// The budget the command uses: `flag` (the `--budget` value) when given, else `B1CACHE_BUDGET` when set and
    /// not empty, else the default.
    /// - Throws: `TriageError.invalidBudget` naming the one that is wrong.
    public static func resolve(flag: String?, environment: [String: String]) throws -> StorageBudget {
        if let flag { return try StorageBudget(parsing: flag, source: "--budget") }
        if let text = environment[environmentVariable], !text.isEmpty {
            return try StorageBudget(parsing: text, source: environmentVariable)
        }
        return .default
    }

    /// `100 MB`, `1.5 GB`: decimal units, as sizes are printed elsewhere.
    public var description: String { StorageUse.format(bytes) }
}
