import B1Cache
import Foundation

/// The storage budget and the item states as `inspect`, `status` and `sync` print them (docs/JSON.md).
enum StorageReport {
    /// `--budget`, for the commands that measure the cache.
    static let option = "--budget"
    static let help = """
          --budget SIZE          the storage budget, e.g. 100MB, 1.5GB (default: $B1CACHE_BUDGET, else 100MB);
                                 pending and failed writes never count against it, and nothing is removed for it
        """

    /// The budget of this run: `--budget`, else `B1CACHE_BUDGET`, else 100 MB.
    static func budget(_ context: CommandContext) throws -> StorageBudget {
        try StorageBudget.resolve(flag: context.arguments.value(option), environment: context.environment)
    }

    /// `{"budgetBytes","usedBytes","writeBytes","overBudget","collections":[{"collection","bytes"}]}`.
    static func json(_ use: StorageUse) -> JSONValue {
        [
            "budgetBytes": .integer(use.budget.bytes), "usedBytes": .integer(use.countedBytes),
            "writeBytes": .integer(use.writeBytes), "overBudget": .bool(use.isOverBudget),
            "collections": .array(
                use.collections.map { ["collection": .string($0.name.rawValue), "bytes": .integer($0.bytes)] }),
        ]
    }

    /// `{"pending","failed"}`.
    static func json(_ count: ItemStateCounts.Count) -> JSONValue {
        ["pending": .integer(count.pending), "failed": .integer(count.failed)]
    }

    /// `228.5 KB of 100 MB (0.2 %)`, red when over.
    static func usage(_ use: StorageUse, terminal: Terminal) -> String {
        let text =
            "\(StorageUse.format(use.countedBytes)) of \(use.budget)"
            + " (\(String(format: use.fraction < 0.1 ? "%.1f" : "%.0f", use.fraction * 100)) %)"
        return use.isOverBudget ? terminal.paint(text + " over budget", .red) : text
    }

    /// The warning of a command that left the cache over budget.
    static func warnIfOver(_ use: StorageUse?, on terminal: Terminal) {
        guard let use, use.isOverBudget else { return }
        terminal.warning(
            use.overBudgetWarning,
            hint: "raise it with --budget or \(StorageBudget.environmentVariable), or make room on the device")
    }
}
