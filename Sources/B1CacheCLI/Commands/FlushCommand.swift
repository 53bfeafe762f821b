import B1Cache
import Foundation

enum FlushCommand: Command {
    static let name = "flush"
    static let summary = "send the pending writes in order (--dry-run, --max N, --wait, --ignore-backoff)"
    static let options: Set<String> = ServerOptions.options.union(["--max", "--batch-size"])
    static let flags: Set<String> = ["--json", "--dry-run", "--wait", "--ignore-backoff"]
    static let help = """
        Usage: b1cache flush [--dry-run] [--max N] [--wait] [--ignore-backoff] [--json] [SERVER OPTIONS]

        Sends the pending writes to the server in queue order, in batches of up to 100, each with its id as the
        idempotency key, so a write re-sent after a crash is applied once. The server's answer updates the cached
        items, then the write leaves the queue. A temporary failure (offline, timeout, 5xx, 429) stops the flush
        and the write waits its backoff; a permanent one (409, 422, …) moves the write to failed/ and the flush
        goes on. Only one process flushes a cache at a time.

        Options:
          --dry-run          list what would be sent, in order; send nothing
          --max N            send at most N writes
          --batch-size N     writes per request, 1 to 100 (default 100)
          --wait             wait for the lock instead of exiting 6
          --ignore-backoff   send writes whose backoff has not run out yet
          --json             print a summary as JSON
        \(ServerOptions.help)

        A write file leaves the queue only when the server acknowledged that write's own id; an answer that is not
        JSON, has no result for a write, is larger than 64 MB, or stops mid-way leaves the write queued.

        Exit codes: 0 queue drained; 1 the session answer broke the protocol (nothing sent); 2 a bad --server URL or
        a TLS failure such as an untrusted certificate (nothing sent); 3 writes still pending or moved to failed/;
        4 offline, no answer within --timeout, or 503/429 to the session (nothing lost); 5 unauthorized or another
        account; 6 busy (another process holds the lock).
        """

    static func run(_ context: CommandContext) async throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'flush' takes no arguments") }
        var options = FlushOptions(ignoreBackoff: context.arguments.has("--ignore-backoff"))
        if let text = context.arguments.value("--max") {
            guard let maximum = Int(text), maximum > 0 else {
                throw UsageError("--max takes a positive number, not '\(text)'")
            }
            options.maximumWrites = maximum
        }
        if let text = context.arguments.value("--batch-size") {
            guard let size = Int(text), (1...ServerClient.batchLimit).contains(size) else {
                throw UsageError("--batch-size takes a number from 1 to \(ServerClient.batchLimit), not '\(text)'")
            }
            options.batchSize = size
        }
        if context.arguments.has("--dry-run") { return try dryRun(context, options: options) }
        let client = try ServerOptions.client(context)
        let terminal = context.terminal
        let started = Date()
        let progress: @Sendable (Int, Int) -> Void = { done, total in
            ProgressLine.show(done: done, total: total, elapsed: Date().timeIntervalSince(started), to: terminal)
        }
        let report = try await context.cache().flush(
            client: client, options: options, busy: context.busy,
            progress: context.json ? nil : progress)
        ProgressLine.finish(terminal)
        let elapsed = Date().timeIntervalSince(started)
        if context.json {
            terminal.line(JSONWriter.compactString(json(report, elapsed: elapsed)))
        } else {
            terminal.line(summary(report, elapsed: elapsed))
            for name in report.unreadable {
                terminal.warning("not sent, unreadable: \(name)", hint: Terminal.unreadableFileHint)
            }
        }
        reportFailed(report, on: terminal)
        reportStop(report, on: terminal, json: context.json)
        return report.isComplete ? .ok : .flushIncomplete
    }

    /// Where the flush stopped. A failed request (no answer, an error status, an answer that breaks the protocol) is
    /// an error on stderr; a write still waiting for its backoff is a line of the summary.
    static func reportStop(_ report: FlushReport, on terminal: Terminal, json: Bool) {
        guard let stop = report.stoppedAt else { return }
        if report.stoppedByFailure {
            terminal.error(
                "the flush stopped at write \(stop.id): \(stop.reason)",
                hint: "that write and the ones after it stay queued, in order; 'b1cache flush' sends them "
                    + "again after its backoff (nothing the server did not acknowledge was removed)")
        } else if !json {
            terminal.line("Stopped at \(stop.id): \(stop.reason)")
        }
    }

    /// Each write that moved to failed/, why, and what to do: it is not lost, and it is not sent again by itself.
    static func reportFailed(_ report: FlushReport, on terminal: Terminal) {
        for id in report.movedToFailed {
            terminal.warning(
                "write \(id) moved to failed/: \(report.failureReasons[id] ?? "refused by the server")",
                hint: "resolve it on BillingOne web, then 'b1cache retry \(id)' and 'b1cache flush'; "
                    + "or discard it with 'b1cache drop \(id)'")
        }
    }

    static func summary(_ report: FlushReport, elapsed: TimeInterval) -> String {
        let sent = report.applied.count
        var text = "Flushed \(sent) write\(sent == 1 ? "" : "s")"
        if !report.duplicates.isEmpty { text += " (\(report.duplicates.count) already applied earlier)" }
        text += " in \(String(format: "%.1f", elapsed)) s"
        if !report.movedToFailed.isEmpty {
            text += "; \(report.movedToFailed.count) moved to failed/ (see 'b1cache queue --failed')"
        }
        text += "; \(report.remaining) still pending."
        return text
    }

    static func json(_ report: FlushReport, elapsed: TimeInterval) -> JSONValue {
        var object: JSONObject = [
            "applied": .integer(report.applied.count), "duplicates": .integer(report.duplicates.count),
            "movedToFailed": .array(report.movedToFailed.map { .string($0) }), "remaining": .integer(report.remaining),
            "requests": .integer(report.requests), "seconds": .double((elapsed * 1000).rounded() / 1000),
            "unreadable": .array(report.unreadable.map { .string($0) }), "complete": .bool(report.isComplete),
        ]
        if let stop = report.stoppedAt {
            object["stoppedAt"] = ["id": .string(stop.id), "reason": .string(stop.reason)]
        }
        return .object(object)
    }

    /// The real flush's own plan (`FlushPlan`), printed: same order, backoff hold and `--max`; nothing is sent.
    static func dryRun(_ context: CommandContext, options: FlushOptions) throws -> ExitCode {
        let listed = try context.cache().writes(.pending)
        for item in listed where item.write == nil {
            // As the real flush would: skip it, and say so.
            let problem = item.problem?.description ?? item.entry.url.path
            context.terminal.warning("would not send, unreadable: \(problem)", hint: Terminal.unreadableFileHint)
        }
        let plan = FlushPlan(listed, options: options)
        for (number, batch) in plan.batches.enumerated() {
            for write in batch { context.terminal.line("batch \(number + 1)  \(write.id)  \(write.kind.rawValue)") }
        }
        let count = plan.writes.count
        context.terminal.line("Would send \(count) write\(count == 1 ? "" : "s"); nothing was sent.")
        if let held = plan.heldBack {
            let after = listed.compactMap(\.write).drop { $0.id != held.write.id }.count - 1
            context.terminal.line(
                "Held back: \(held.write.id) waits for its backoff until \(Timestamp.string(held.until))"
                    + (after > 0 ? ", and the \(after) write\(after == 1 ? "" : "s") after it keep their order" : "")
                    + " (--ignore-backoff sends now).")
        }
        return .ok
    }
}

/// `3/120 ▕███░░░░░▏ 2.5 s`, redrawn in place on a terminal (stdout, or stderr when stdout is a file or a pipe,
/// which then carries only the result); nothing when neither is a terminal.
enum ProgressLine {
    static func show(done: Int, total: Int, elapsed: TimeInterval, to terminal: Terminal) {
        guard total > 0 else { return }
        let width = 20
        let filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        terminal.progress("\r\(done)/\(total) ▕\(bar)▏ \(String(format: "%.1f s", elapsed))")
    }

    static func finish(_ terminal: Terminal) {
        terminal.endProgress()
    }
}
