import B1Cache
import Dispatch
import Foundation

enum WatchCommand: Command {
    static let name = "watch"
    static let summary = "keep the cache in step while it runs: flush on reconnect and on enqueue, realtime pulls"
    static let options: Set<String> = ServerOptions.options.union([
        "--max-backoff", "--poll-interval",
        "--print-service", StorageReport.option,
    ])
    static let flags: Set<String> = ["--json"]
    static let help = """
        Usage: b1cache watch [--json] [--max-backoff DURATION] [--poll-interval DURATION] [--budget SIZE] [SERVER OPTIONS]
               b1cache watch --print-service systemd|launchd --token-file FILE [SERVER OPTIONS]

        Runs until SIGINT or SIGTERM (exit 0), keeping the cache in step with the server with no command typed:
        - while the server cannot be reached, probes GET /v1/health with exponential backoff and full jitter
          (1 s, doubling, at most --max-backoff); as soon as it answers, flushes the queue;
        - while online, flushes a write enqueued by any process within about a second, then pulls the collections
          the flush touched; a write waiting for its own backoff is sent when it runs out;
        - listens to the server's change feed (GET /v1/events) and pulls a collection as soon as it changes (every
          collection once on each (re)connection); without a feed, pulls everything every --poll-interval;
        - takes the cache lock only while it flushes or pulls, so every other command works beside it (waiting for
          the lock, never failing for it). One watcher per cache: a second one exits 6 naming the first.
        - on 401 it keeps every write and sends nothing ("session expired: sign in again") until --token-file holds
          a new token; a token from $B1_TOKEN cannot change, so restart the watcher with the new one.

        One line per event on stderr ("flushed 3 writes", "pulled invoices: 2 changed", "offline: retry in 8 s");
        with --json, one JSON object per event on stdout instead. 'b1cache status' shows whether a watcher runs.
        A pull that leaves the cache over its storage budget warns once (again only after it was back under);
        nothing is removed for it.

        Options:
          --max-backoff DURATION    the longest wait between two probes of an unreachable server (default 60s)
          --poll-interval DURATION  how often to pull everything when the server has no change feed (default 15m)
          --print-service KIND      print a systemd user unit or a launchd agent that runs this watcher (with the
                                    same --cache-dir and server options; needs --token-file: the token is read from
                                    it, never written into the unit) and exit
          --json                    JSON lines on stdout: {"event", "at", …} (docs/JSON.md)
        \(StorageReport.help)
        \(ServerOptions.help)

        Exit codes: 0 stopped by SIGINT/SIGTERM; 1 the cache was signed out, restored or removed while watching;
        2 bad options, a bad --server URL or a TLS failure; 5 the token is another account's; 6 another watcher runs
        on this cache; 8 the cache cannot be used (see the error).
        """

    static func run(_ context: CommandContext) async throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'watch' takes no arguments") }
        var options = try watchOptions(context)
        if let backoff = try context.arguments.duration("--max-backoff") {
            guard backoff >= 1 else { throw UsageError("--max-backoff must be at least 1s") }
            options.maximumBackoff = backoff
        }
        if let interval = try context.arguments.duration("--poll-interval") {
            guard interval >= 1 else { throw UsageError("--poll-interval must be at least 1s") }
            options.pollInterval = interval
        }
        options.budget = try StorageReport.budget(context)
        if let kind = context.arguments.value("--print-service") {
            context.terminal.line(try ServiceFile.text(kind: kind, context: context))
            return .ok
        }
        let watcher = Watcher(cache: try context.cache(), options: options)
        // Signals reach a DispatchSource only when their own action is "ignore"; the source then calls stop() on a
        // queue of its own (no handler runs in signal context, and nothing polls while waiting).
        Console.ignore(Console.stopSignals)
        let sources = Console.stopSignals.map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler { watcher.stop() }
            source.resume()
        }
        defer { for source in sources { source.cancel() } }
        let terminal = context.terminal
        let json = context.json
        let server = options.server.absoluteString
        do {
            try await watcher.run { event in
                if json {
                    terminal.line(JSONWriter.compactString(WatchLines.json(event)))
                    terminal.flush()
                } else if let text = WatchLines.text(event, server: server) {
                    terminal.note(text)
                }
            }
        } catch let error as WatchError {
            var code = ExitCode.busy
            if case .cacheRemoved = error { code = .failure }
            terminal.error(error.description, hint: error.hint)
            if json { terminal.line(JSONWriter.compactString(CLI.errorJSON(error.description, error.hint, code))) }
            return code
        }
        return .ok
    }

    /// The server, token source and transport options, checked as flush checks them (a token file that cannot be
    /// read, a bad URL or CA file are refused before anything starts).
    static func watchOptions(_ context: CommandContext) throws -> WatchOptions {
        _ = try ServerOptions.client(context)
        guard let server = try ServerOptions.serverURL(context) else {
            throw UsageError("no server: pass --server URL or set B1_SERVER_URL")
        }
        let token: WatchToken
        if let file = context.arguments.value("--token-file") {
            token = .file(URL(fileURLWithPath: (file as NSString).expandingTildeInPath))
        } else {
            token = .fixed(context.environment["B1_TOKEN"] ?? "")
        }
        var options = WatchOptions(server: server, token: token)
        options.timeout = try context.arguments.duration("--timeout") ?? 30
        options.caFile = try ServerOptions.caFile(context)
        return options
    }
}

/// The lines `watch` prints for its events.
enum WatchLines {
    static func text(_ event: WatchEvent, server: String) -> String? {
        switch event {
        case .started(let state):
            return "watching (pid \(state.pid)); server \(server)"
        case .online: return "online"
        case .offline(let reason, let retryIn): return "offline: retry in \(seconds(retryIn)) (\(reason))"
        case .flushed(let report):
            var text = "flushed \(report.applied.count) write\(report.applied.count == 1 ? "" : "s")"
            if !report.duplicates.isEmpty { text += " (\(report.duplicates.count) already applied earlier)" }
            if !report.movedToFailed.isEmpty {
                text += "; \(report.movedToFailed.count) moved to failed/ (see 'b1cache queue --failed')"
            }
            return text
        case .heldBack(let id, let until):
            return "write \(id) waits for its backoff until \(Timestamp.string(until))"
        case .pulled(let collection, let changed, let removed):
            return "pulled \(collection.rawValue): \(changed) changed" + (removed > 0 ? ", \(removed) removed" : "")
        case .pullFailed(let collection, let reason): return "pull of \(collection.rawValue) failed: \(reason)"
        case .sessionExpired(let resumable):
            return "session expired: sign in again; "
                + (resumable
                    ? "every write is kept, and the watcher resumes when --token-file holds a new token"
                    : "every write is kept; B1_TOKEN cannot change while watch runs, so restart it with the new token")
        case .tokenChanged: return "new token: trying again"
        case .feedOpened: return "change feed open"
        case .feedLost(let reason, let retryIn):
            return "change feed lost (\(reason)); reconnecting in \(seconds(retryIn))"
        case .polling(let every):
            return "the server has no change feed: pulling every collection every \(seconds(every))"
        case .overBudget(let use):
            return "warning: \(use.overBudgetWarning); raise it with --budget or \(StorageBudget.environmentVariable)"
        case .stopped: return "stopped"
        }
    }

    static func json(_ event: WatchEvent) -> JSONValue {
        var object: JSONObject = ["at": .string(Timestamp.preciseString(Date()))]
        func round(_ value: TimeInterval) -> JSONValue { .double((value * 10).rounded() / 10) }
        switch event {
        case .started(let state):
            object["event"] = "started"
            object["pid"] = .integer(Int(state.pid))
        case .online: object["event"] = "online"
        case .offline(let reason, let retryIn):
            object["event"] = "offline"
            object["reason"] = .string(reason)
            object["retryInSeconds"] = round(retryIn)
        case .flushed(let report):
            object["event"] = "flushed"
            object["applied"] = .integer(report.applied.count)
            object["duplicates"] = .integer(report.duplicates.count)
            object["movedToFailed"] = .array(report.movedToFailed.map { .string($0) })
            object["remaining"] = .integer(report.remaining)
        case .heldBack(let id, let until):
            object["event"] = "held-back"
            object["id"] = .string(id)
            object["until"] = .string(Timestamp.string(until))
        case .pulled(let collection, let changed, let removed):
            object["event"] = "pulled"
            object["collection"] = .string(collection.rawValue)
            object["changed"] = .integer(changed)
            object["removed"] = .integer(removed)
        case .pullFailed(let collection, let reason):
            object["event"] = "pull-failed"
            object["collection"] = .string(collection.rawValue)
            object["reason"] = .string(reason)
        case .sessionExpired(let resumable):
            object["event"] = "session-expired"
            object["resumable"] = .bool(resumable)
        case .tokenChanged: object["event"] = "token-changed"
        case .feedOpened: object["event"] = "feed-opened"
        case .feedLost(let reason, let retryIn):
            object["event"] = "feed-lost"
            object["reason"] = .string(reason)
            object["retryInSeconds"] = round(retryIn)
        case .polling(let every):
            object["event"] = "polling"
            object["everySeconds"] = round(every)
        case .overBudget(let use):
            object["event"] = "over-budget"
            object["storage"] = StorageReport.json(use)
        case .stopped: object["event"] = "stopped"
        }
        return .object(object)
    }

    static func seconds(_ value: TimeInterval) -> String {
        value < 10
            ? String(format: "%.1f s", value)
            : value < 120
                ? "\(Int(value.rounded())) s"
                : "\(Int((value / 60).rounded())) min"
    }
}
