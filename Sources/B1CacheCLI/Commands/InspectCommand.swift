import B1Cache
import Foundation

enum InspectCommand: Command {
    static let name = "inspect"
    static let summary = "account, collections (items, age, stale), queue, failed, lock, disk use"
    static let options: Set<String> = ["--stale-after", StorageReport.option]
    static let flags: Set<String> = ["--json"]
    static let help = """
        Usage: b1cache inspect [--json] [--stale-after DURATION] [--budget SIZE] [--cache-dir DIR]

        Summarizes the cache from the manifest and folder listings alone (no envelope is read, so it is as fast
        on 100,000 invoices as on 10): the account, each collection's item count, age and stale mark, pending
        and failed writes and how many items they touch (pending, failed), the lock, and disk use against the
        storage budget.

        A collection is stale when it was synced before the last Sync All, or longer ago than --stale-after
        (default 24h; units s, m, h, d).

        Options:
          --json                 one JSON object, for scripts (jq '.collections[] | select(.stale) | .name')
          --stale-after DURATION how old a collection may be before it is marked stale
        \(StorageReport.help)

        Exit codes: 0 ok; 8 the manifest is corrupt.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'inspect' takes no arguments") }
        let now = Date()
        let staleAfter = try context.arguments.duration("--stale-after") ?? Manifest.defaultStaleAfter
        let budget = try StorageReport.budget(context)
        let summary = try context.cache().summary(now: now, staleAfter: staleAfter)
        let states = try context.cache().itemStates()
        let storage = try context.cache().storage(budget: budget)
        if context.json {
            let object = adding(states, storage, to: json(summary, now: now))
            context.terminal.line(JSONWriter.compactString(object))
        } else {
            printHuman(summary, now: now, terminal: context.terminal)
            printTriage(states, storage, exists: summary.exists, terminal: context.terminal)
        }
        return .ok
    }

    static func json(_ summary: CacheSummary, now: Date) -> JSONValue {
        let collections: [JSONValue] = summary.collections.map { line in
            var entry = JSONObject()
            entry["name"] = .string(line.name.rawValue)
            entry["count"] = .integer(line.state?.count ?? 0)
            entry["bytes"] = .integer(line.state?.bytes ?? 0)
            entry["revision"] = .integer(line.state?.revision ?? 0)
            entry["syncedAt"] = .optionalDate(line.state?.freshAt)  // the last pull that succeeded, changed or not
            let age: JSONValue? = line.state?.freshAt.map { .integer(Int(now.timeIntervalSince($0))) }
            entry["ageSeconds"] = age ?? .null
            entry["stale"] = .bool(line.stale)
            entry["complete"] = .bool(line.complete)
            entry["synced"] = .bool(line.state != nil)
            return .object(entry)
        }
        let account: JSONValue =
            summary.account.map {
                ["orgId": .string($0.orgId), "userId": .string($0.userId), "email": .string($0.email)]
            } ?? .null
        return [
            "root": .string(summary.root.path),
            "exists": .bool(summary.exists),
            "account": account,
            "lastSyncAllAt": .optionalDate(summary.lastSyncAllAt),
            "collections": .array(collections),
            // oldestPendingAt is status's name for the same time; oldestCreatedAt stays readable for one release.
            "pending": [
                "count": .integer(summary.pending.count), "oldestPendingAt": .optionalDate(summary.oldestPendingAt),
                "oldestCreatedAt": .optionalDate(summary.oldestPendingAt),
            ],
            "failed": ["count": .integer(summary.failedCount)],
            "lock": [
                "held": .bool(summary.lockHeld), "owner": summary.lockOwner ?? .null,
                "command": summary.lockHeld ? .string(summary.lockOwner?["command"]?.stringValue ?? "?") : .null,
            ],
            "diskBytes": .integer(summary.diskBytes),
        ]
    }

    /// The item states (top level and per collection) and the storage budget (issue 16), added to `json`.
    static func adding(_ states: ItemStateCounts, _ storage: StorageUse, to summary: JSONValue) -> JSONValue {
        guard var object = summary.objectValue else { return summary }
        object["itemStates"] = StorageReport.json(states.total)
        object["storage"] = StorageReport.json(storage)
        if let collections = object["collections"]?.arrayValue {
            object["collections"] = .array(
                collections.map { entry in
                    guard var line = entry.objectValue,
                        let name = line["name"]?.stringValue.flatMap(CollectionName.init(rawValue:))
                    else { return entry }
                    line["itemStates"] = StorageReport.json(states[name])
                    return .object(line)
                })
        }
        return .object(object)
    }

    static func printTriage(_ states: ItemStateCounts, _ storage: StorageUse, exists: Bool, terminal: Terminal) {
        guard exists else { return }
        let total = states.total
        var items = "\(total.pending) pending, \(total.failed) failed"
        if total.pending + total.failed > 0 {
            items += terminal.paint("  see 'b1cache show COLLECTION --sync-state'", .dim)
        }
        terminal.line("Items touched  " + items)
        terminal.line(
            "Budget         " + StorageReport.usage(storage, terminal: terminal) + "; writes ("
                + StorageUse.format(storage.writeBytes) + ") never count")
    }

    static func printHuman(_ summary: CacheSummary, now: Date, terminal: Terminal) {
        terminal.line(terminal.paint("Cache ", .bold) + summary.root.path)
        guard summary.exists else {
            terminal.line("Nothing cached yet: the folder does not exist. Run 'b1cache sync' while online.")
            return
        }
        terminal.line("Account        " + (summary.account?.description ?? "none yet (first sync records it)"))
        let lastSyncAll = summary.lastSyncAllAt.map { "\(Timestamp.string($0)) (\(Timestamp.age(of: $0, now: now)))" }
        terminal.line("Last Sync All  " + (lastSyncAll ?? "never"))
        terminal.line()
        var rows = [["COLLECTION", "ITEMS", "SYNCED", "", ""]]
        for line in summary.collections {
            let age = line.state?.freshAt.map { Timestamp.age(of: $0, now: now) } ?? "never"
            let stale = line.stale ? terminal.paint("stale", .yellow) : ""
            rows.append([
                line.name.rawValue, line.state.map { String($0.count) } ?? "-", age, stale,
                line.complete ? "" : terminal.paint("partial snapshot", .dim),
            ])
        }
        for row in Format.table(rows, rightAligned: [1]) { terminal.line(row) }
        terminal.line()
        let pendingCount = summary.pending.count
        var pending = "\(pendingCount)"
        if let oldest = summary.oldestPendingAt { pending += ", oldest \(Timestamp.age(of: oldest, now: now))" }
        if pendingCount > 0 {
            pending += terminal.paint("  not on the server yet: run 'b1cache flush' when online", .yellow)
        }
        terminal.line("Pending writes " + pending)
        var failed = "\(summary.failedCount)"
        if summary.failedCount > 0 {
            failed += terminal.paint("  see 'b1cache queue --failed', then retry or drop", .red)
        }
        terminal.line("Failed writes  " + failed)
        terminal.line("Lock           " + lockText(summary))
        terminal.line("Disk use       " + Format.bytes(summary.diskBytes))
    }

    static func lockText(_ summary: CacheSummary) -> String {
        guard summary.lockHeld else { return "free" }
        guard let owner = summary.lockOwner else { return "held (owner not written yet)" }
        let command = owner["command"]?.stringValue ?? "?"
        let pid = owner["pid"]?.intValue.map(String.init) ?? "?"
        let host = owner["host"]?.stringValue ?? "?"
        return "held by \(command) (pid \(pid) on \(host))"
    }
}
