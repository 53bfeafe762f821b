import B1Cache
import Foundation

enum QueueCommand: Command {
    static let name = "queue"
    static let summary = "pending writes (list; show ID; --failed for dead letters)"
    static let options: Set<String> = []
    static let flags: Set<String> = ["--json", "--failed"]
    static let help = """
        Usage: b1cache queue [list] [--failed] [--json] [--cache-dir DIR]
               b1cache queue show ID [--cache-dir DIR]

        Lists the pending writes in flush order: id, kind, age, attempts and last error. With --failed, the writes
        that failed permanently (retry them with 'b1cache retry ID', discard with 'b1cache drop ID').
        'queue show ID' prints one write file (the whole id, or a prefix of at least 8 characters that only one
        write has).
        A write file that cannot be read is skipped with a warning ('b1cache verify' says more).

        Options:
          --failed  list failed/ instead of queue/
          --json    one JSON object per line: the write, plus "file" and "state"

        Exit codes: 0 ok; 2 unknown id.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        let positionals = context.arguments.positionals
        let cache = try context.cache()
        switch positionals.first {
        case nil, "list":
            guard positionals.count <= 1 else { throw UsageError("'queue list' takes no arguments") }
            return try list(cache, failed: context.arguments.has("--failed"), context: context)
        case "show":
            guard positionals.count == 2 else { throw UsageError("'queue show' needs one write ID") }
            let found = try cache.find(id: positionals[1])
            guard let write = found.write else { throw found.problem ?? QueueError.writeNotFound(id: positionals[1]) }
            context.terminal.line(String(decoding: write.encoded(), as: UTF8.self).trimmingCharacters(in: .newlines))
            return .ok
        default:
            throw UsageError("unknown queue action '\(positionals[0])'", hint: "use 'queue list' or 'queue show ID'")
        }
    }

    static func list(_ cache: Cache, failed: Bool, context: CommandContext) throws -> ExitCode {
        let listed = try cache.writes(failed ? .failed : .pending)
        let now = Date()
        var rows = [["ID", "KIND", "AGE", "ATTEMPTS", "LAST ERROR"]]
        for item in listed {
            guard let write = item.write else {
                let problem = item.problem?.description ?? item.entry.url.path
                context.terminal.warning(
                    "skipping unreadable write file: \(problem)",
                    hint: Terminal.unreadableFileHint)
                continue
            }
            if context.json {
                var object = write.json.objectValue ?? JSONObject()
                object["file"] = .string(item.entry.fileName)
                object["state"] = .string(item.place.rawValue)
                context.terminal.line(JSONWriter.compactString(.object(object)))
            } else {
                var error = write.lastError ?? ""
                if let next = write.nextAttemptAt, next > now, !failed {
                    error += " (next try \(Timestamp.string(next)))"
                }
                rows.append([
                    write.id, write.kind.rawValue, Timestamp.age(of: write.createdAt, now: now),
                    String(write.attempts), error,
                ])
            }
        }
        guard !context.json else { return .ok }
        if rows.count == 1 {
            context.terminal.line(failed ? "No failed writes." : "No pending writes.")
        } else {
            for row in Format.table(rows, rightAligned: [3]) { context.terminal.line(row) }
        }
        return .ok
    }
}

enum DropCommand: Command {
    static let name = "drop"
    static let summary = "discard one pending or failed write on purpose"
    static let options: Set<String> = []
    static let flags: Set<String> = []
    static let help = """
        Usage: b1cache drop ID [--cache-dir DIR]

        Deletes the pending or failed write ID (the whole id, or a prefix of at least 8 characters that only one
        write has) without sending it, and prints what it dropped. It asks nothing: what it drops is gone.

        Exit codes: 0 dropped; 2 no such write.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.count == 1 else { throw UsageError("'drop' needs one write ID") }
        let dropped = try context.cache().drop(id: context.arguments.positionals[0])
        let what = dropped.write.map { "\($0.kind.rawValue) write \($0.id)" } ?? "unreadable write file"
        context.terminal.line("Dropped \(dropped.place.rawValue) \(what) (\(dropped.entry.fileName)).")
        return .ok
    }
}
