import B1Cache
import Foundation

enum SyncCommand: Command {
    static let name = "sync"
    static let summary = "pull fresh data from the server (flushes the queue first; --no-flush)"
    static let options: Set<String> = ServerOptions.options.union(["--page-size", StorageReport.option])
    static let flags: Set<String> = ["--json", "--no-flush", "--wait"]
    static let help = """
        Usage: b1cache sync [COLLECTION…] [--no-flush] [--wait] [--page-size N] [--budget SIZE] [--json] [SERVER OPTIONS]

        Sends the pending writes first (as 'b1cache flush' does), then pulls each collection — all nine, or the
        ones named: the whole collection on its first sync, only what changed since the last one afterwards. Each
        collection's file is written once, at the end of its pull; a pull that fails leaves that collection as it
        was. A sync of every collection that succeeds sets lastSyncAllAt in the manifest. A cache holds the data
        of one account: a token of another account is refused and nothing is written.

        Collections: \(CollectionName.namesList)

        Options:
          --no-flush         pull without sending the queue first (queued changes still show with --with-pending)
          --wait             wait for the lock instead of exiting 6
          --page-size N      items per request, 1 to 5000 (default \(ServerClient.defaultPageSize))
          --json             print a summary as JSON
        \(StorageReport.help)
        \(ServerOptions.help)

        A collection whose answer is not valid (not JSON, not the protocol, larger than 64 MB) or stops mid-way
        keeps its cached file exactly as it was.

        A sync that leaves the cache over its storage budget still completes (exit code as usual), and warns with
        the largest collections; nothing is removed, and pending and failed writes never count.

        Exit codes: 0 done; 1 a collection failed (the others were pulled) or the session answer broke the
        protocol; 2 a bad --server URL or a TLS failure such as an untrusted certificate; 3 writes still pending or
        moved to failed/; 4 offline, no answer within --timeout, or 503/429 to the session (nothing changed);
        5 unauthorized or another account; 6 busy.
        """

    static func run(_ context: CommandContext) async throws -> ExitCode {
        var options = SyncOptions()
        options.flushFirst = !context.arguments.has("--no-flush")
        if !context.arguments.positionals.isEmpty {
            var chosen: [CollectionName] = []
            for word in context.arguments.positionals {
                guard let collection = CollectionName(rawValue: word) else {
                    throw UsageError("unknown collection '\(word)'", hint: "collections: \(CollectionName.namesList)")
                }
                if !chosen.contains(collection) { chosen.append(collection) }
            }
            options.collections = chosen
        }
        if let text = context.arguments.value("--page-size") {
            guard let size = Int(text), (1...5000).contains(size) else {
                throw UsageError("--page-size takes a number from 1 to 5000, not '\(text)'")
            }
            options.pageSize = size
        }
        let budget = try StorageReport.budget(context)
        let client = try ServerOptions.client(context)
        let terminal = context.terminal
        let started = Date()
        let showEvent: @Sendable (SyncEvent) -> Void = { event in show(event, on: terminal) }
        let showFlush: @Sendable (Int, Int) -> Void = { done, total in
            ProgressLine.show(done: done, total: total, elapsed: Date().timeIntervalSince(started), to: terminal)
        }
        let progress = context.json ? nil : showEvent, flushProgress = context.json ? nil : showFlush
        let report = try await context.cache().sync(
            client: client, options: options, busy: context.busy, budget: budget,
            progress: progress, flushProgress: flushProgress)
        let elapsed = Date().timeIntervalSince(started)
        if context.json {
            terminal.line(JSONWriter.compactString(json(report, elapsed: elapsed)))
        } else {
            terminal.line(summary(report, elapsed: elapsed))
        }
        if let flush = report.flush {
            FlushCommand.reportStop(flush, on: terminal, json: true)
            FlushCommand.reportFailed(flush, on: terminal)
        }
        StorageReport.warnIfOver(report.storage, on: terminal)
        for failure in report.failed {
            terminal.error(
                "\(failure.collection.rawValue) was not synced: \(failure.error ?? "unknown error")",
                hint: failure.offline
                    ? "check the network and --server, then run 'b1cache sync' again"
                    : "its cached data is unchanged; run 'b1cache sync \(failure.collection.rawValue)' again later")
        }
        return exitCode(report)
    }

    static func exitCode(_ report: SyncReport) -> ExitCode {
        if !report.failed.isEmpty { return report.failed.allSatisfy(\.offline) ? .offline : .failure }
        if let flush = report.flush, !flush.isComplete { return .flushIncomplete }
        return .ok
    }

    /// One line per collection as its pull ends; a redrawn count while a large one downloads on a terminal.
    static func show(_ event: SyncEvent, on terminal: Terminal) {
        switch event {
        case .started(let collection, let full):
            terminal.progress("\r\u{1B}[K\(collection.rawValue): \(full ? "downloading" : "checking for changes")…")
        case .page(let collection, let received):
            if received > 0 { terminal.progress("\r\u{1B}[K\(collection.rawValue): \(received) items…") }
        case .finished(let result):
            terminal.clearProgress()
            terminal.line(line(result))
        }
    }

    static func line(_ result: CollectionSync) -> String {
        let name = result.collection.rawValue.padding(toLength: 19, withPad: " ", startingAt: 0)
        guard result.error == nil else { return "\(name)  not synced" }
        let what: String
        switch result.mode {
        case .incremental: what = "\(result.received) changed, \(result.removed) removed"
        case .full: what = "downloaded whole"
        case .fullAfterExpiredCursor: what = "downloaded whole (the server no longer knew its cursor)"
        }
        let count = "\(result.count) item\(result.count == 1 ? "" : "s")"
        return "\(name)  \(count.padding(toLength: 12, withPad: " ", startingAt: 0))  \(what)  "
            + String(format: "%.1f s", result.seconds)
    }

    static func summary(_ report: SyncReport, elapsed: TimeInterval) -> String {
        var lines: [String] = []
        if let flush = report.flush, flush.applied.count + flush.movedToFailed.count + flush.remaining > 0 {
            lines.append(FlushCommand.summary(flush, elapsed: elapsed))
        }
        let synced = report.collections.count - report.failed.count
        var text =
            "Synced \(synced) of \(report.collections.count) collection\(report.collections.count == 1 ? "" : "s")"
            + " in \(String(format: "%.1f", elapsed)) s"
        if let at = report.lastSyncAllAt { text += " (Sync All at \(Timestamp.string(at)))" }
        lines.append(text + ".")
        return lines.joined(separator: "\n")
    }

    static func json(_ report: SyncReport, elapsed: TimeInterval) -> JSONValue {
        let collections: [JSONValue] = report.collections.map { result in
            var object: JSONObject = [
                "collection": .string(result.collection.rawValue), "mode": .string(result.mode.rawValue),
                "pages": .integer(result.pages), "received": .integer(result.received),
                "removed": .integer(result.removed), "count": .integer(result.count),
                "seconds": .double((result.seconds * 1000).rounded() / 1000), "ok": .bool(result.error == nil),
            ]
            if let error = result.error { object["error"] = .string(error) }
            return .object(object)
        }
        var object: JSONObject = [
            "collections": .array(collections), "complete": .bool(exitCode(report) == .ok),
            "lastSyncAllAt": .optionalDate(report.lastSyncAllAt), "seconds": .double((elapsed * 1000).rounded() / 1000),
        ]
        if let flush = report.flush { object["flush"] = FlushCommand.json(flush, elapsed: elapsed) }
        if let storage = report.storage { object["storage"] = StorageReport.json(storage) }
        return .object(object)
    }
}
