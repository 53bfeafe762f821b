import B1Cache
import Foundation

enum RetryCommand: Command {
    static let name = "retry"
    static let summary = "put failed writes back in the queue (ID or --all)"
    static let options: Set<String> = []
    static let flags: Set<String> = ["--all"]
    static let help = """
        Usage: b1cache retry ID|--all [--cache-dir DIR]

        Moves failed writes back into the queue, at their original place in the order, with their attempts reset.
        The next 'b1cache flush' sends them again. Fix the cause first (e.g. on BillingOne web), or the server
        will refuse them again.

        The server's answer to a write's id is final, so a retried write is sent under a new id, ID-r1 (then
        ID-r2, …), that names the ids it was sent under before; the server applies it at most once in all.

        Exit codes: 0 done; 2 no such failed write.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        let positionals = context.arguments.positionals
        let all = context.arguments.has("--all")
        guard all != (positionals.count == 1), positionals.count <= 1 else {
            throw UsageError("'retry' takes one failed write ID, or --all")
        }
        let cache = try context.cache()
        let moved = try all ? cache.retryAll() : [cache.retry(id: positionals[0])]
        for write in moved {
            let previous = write.retryOf.last.map { " (retry of \($0))" } ?? ""
            context.terminal.line("Back in the queue: \(write.kind.rawValue) \(write.id)\(previous)")
        }
        if moved.isEmpty { context.terminal.line("No failed writes.") }
        return .ok
    }
}

enum LogCommand: Command {
    static let name = "log"
    static let summary = "what flush sent and what the server said (newest first)"
    static let options: Set<String> = ["-n"]
    static let flags: Set<String> = ["--json"]
    static let help = """
        Usage: b1cache log [-n N] [--json] [--cache-dir DIR]

        The flush history, newest first: each write sent and the server's answer (applied, duplicate, failed,
        retry-later). The newest 1,000 are kept in history.jsonl.

        Options:
          -n N     only the newest N entries
          --json   one JSON object per line
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        let history = try context.cache().history()
        if history.skippedLines > 0 {
            let count = history.skippedLines
            let lines = count == 1 ? "1 line that is not an entry" : "\(count) lines that are not entries"
            context.terminal.warning(
                "left out \(lines) of \(context.paths.history.path)",
                hint: Terminal.unreadableFileHint)
        }
        var entries = Array(history.entries.reversed())
        if let text = context.arguments.value("-n") {
            guard let count = Int(text), count >= 0 else { throw UsageError("-n takes a number, not '\(text)'") }
            entries = Array(entries.prefix(count))
        }
        if context.json {
            for entry in entries { context.terminal.line(JSONWriter.compactString(entry)) }
            return .ok
        }
        guard !entries.isEmpty else {
            // -n 0 asks for no entries: print none, rather than claim that nothing was flushed.
            if history.entries.isEmpty { context.terminal.line("Nothing flushed yet.") }
            return .ok
        }
        var rows = [["AT", "RESULT", "KIND", "ID", "ERROR"]]
        for entry in entries {
            rows.append([
                entry["at"]?.stringValue ?? "", entry["result"]?.stringValue ?? "", entry["kind"]?.stringValue ?? "",
                entry["id"]?.stringValue ?? "", entry["error"]?.stringValue ?? "",
            ])
        }
        for row in Format.table(rows) { context.terminal.line(row) }
        return .ok
    }
}
