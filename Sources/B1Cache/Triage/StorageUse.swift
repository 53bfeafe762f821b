import Foundation

/// A cache's disk use against its `StorageBudget`, from a walk of the folder (no file is read, no envelope
/// parsed): what counts is everything that can be downloaded again — envelopes, manifest, history, quarantine —
/// and never the writes of `queue/` and `failed/`, which exist nowhere else. Nothing is ever removed for a budget.
public struct StorageUse: Sendable {
    /// The budget measured against.
    public var budget: StorageBudget
    /// Bytes that count against the budget: every regular file under the root except in `queue/` and `failed/`.
    public var countedBytes: Int64
    /// Bytes of `queue/` and `failed/`: shown, never counted.
    public var writeBytes: Int64
    /// Each cached collection's envelope file size, largest first (collections never synced are absent).
    public var collections: [(name: CollectionName, bytes: Int64)]

    /// True when the counted bytes are more than the budget.
    public var isOverBudget: Bool { countedBytes > budget.bytes }
    /// Counted bytes as a share of the budget (1 = all of it).
    public var fraction: Double { Double(countedBytes) / Double(budget.bytes) }
    /// The three largest collections, for the over-budget warning.
    public var largest: [(name: CollectionName, bytes: Int64)] { Array(collections.prefix(3)) }

    /// Measures the cache at `paths` (a missing folder uses nothing).
    public static func load(paths: CachePaths, budget: StorageBudget) throws -> StorageUse {
        guard try CacheRoot.check(paths.root) else {
            return StorageUse(budget: budget, countedBytes: 0, writeBytes: 0, collections: [])
        }
        let writes = CacheSummary.diskUsage(of: paths.queue) + CacheSummary.diskUsage(of: paths.failed)
        var collections: [(name: CollectionName, bytes: Int64)] = []
        for name in CollectionName.allCases {
            if let status = try? System.status(paths.envelope(for: name).path), status.isRegularFile {
                collections.append((name, status.size))
            }
        }
        collections.sort { $0.bytes > $1.bytes || ($0.bytes == $1.bytes && $0.name < $1.name) }
        return StorageUse(
            budget: budget, countedBytes: max(0, CacheSummary.diskUsage(of: paths.root) - writes), writeBytes: writes,
            collections: collections)
    }

    /// The warning of a sync that left the cache over budget: how much, and the largest collections.
    public var overBudgetWarning: String {
        let names = largest.map { "\($0.name.rawValue) \(Self.format($0.bytes))" }.joined(separator: ", ")
        return "the cache uses \(Self.format(countedBytes)) of its \(budget) storage budget"
            + (names.isEmpty ? "" : "; largest: \(names)")
            + "; nothing was removed (pending and failed writes are never counted)"
    }

    /// `235.9 KB`, `1.2 MB`: decimal units, one decimal.
    public static func format(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        let text = String(format: "%.1f", value)
        return (text.hasSuffix(".0") ? String(text.dropLast(2)) : text) + " " + units[unit]
    }
}
