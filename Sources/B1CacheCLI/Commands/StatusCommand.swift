import B1Cache
import Foundation
import Synchronization

enum StatusCommand: Command {
    static let name = "status"
    static let summary = "online/offline, pending and failed writes, last sync, stale collections (one line; --json)"
    static let options: Set<String> = ServerOptions.options.union(["--stale-after", StorageReport.option])
    static let flags: Set<String> = ["--json"]
    static let defaultTimeout: TimeInterval = 2
    static let help = """
        Usage: b1cache status [--json] [--server URL] [--timeout DURATION] [--stale-after DURATION] [--budget SIZE]
                              [--cache-dir DIR]

        One line for a shell prompt or a status bar:

          online · 3 pending · 1 failed · synced 2 h ago · 2 stale · 229.5 KB of 100 MB (0.2 %)

        online/offline comes from a short GET /v1/health (no token needed or sent) to --server or $B1_SERVER_URL;
        without a server it says "no server". Pending and failed writes are always shown: they exist nowhere else.
        "synced" is the last Sync All; a collection is stale as in 'b1cache inspect'. The size is the cache's use of
        its storage budget (pending and failed writes never count).

        status only reads: it never creates the cache folder, takes no lock, and writes nothing. Being offline is a
        normal answer (exit 0).

        Options:
          --json                 one JSON object: root, exists, server, online (null without a server), offlineReason,
                                 pending, failed, oldestPendingAt, lastSyncAllAt, stale (names), lock {held, command,
                                 stale}, restoreInterrupted, problem, watcher {running, pid, online, …},
                                 itemStates {pending, failed}, storage {budgetBytes, usedBytes, overBudget, …}
          --server URL           the server to probe (default: $B1_SERVER_URL)
          --timeout DURATION     how long to wait for the server (default 2s; e.g. 500ms is written 0.5s)
          --ca-file FILE         trust the CAs in this PEM file instead of the system's (default: $B1_CA_FILE, else
                                 $CURL_CA_BUNDLE, else $SSL_CERT_FILE)
          --stale-after DURATION how old a collection may be before it is stale (default 24h)
        \(StorageReport.help)
          (--token-file is accepted, so one set of options serves every command, and ignored: health needs no token.)

        Examples:
          b1cache status
          b1cache status --json | jq -r '"\\(.pending) pending"'
          b1cache status --json | jq -e '.online' >/dev/null && b1cache flush

        Exit codes: 0 (online, offline or no server alike); 2 a bad --server URL, or a TLS failure such as an untrusted
        certificate (the line is still printed, saying "server unusable"); 8 the manifest is corrupt (the line is
        still printed).
        """

    static func run(_ context: CommandContext) async throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'status' takes no arguments") }
        let now = Date()
        let staleAfter = try context.arguments.duration("--stale-after") ?? Manifest.defaultStaleAfter
        let timeout = try context.arguments.duration("--timeout") ?? defaultTimeout
        guard timeout > 0 else { throw UsageError("--timeout must be more than 0") }
        let server = try ServerOptions.serverURL(context)
        let caFile = try ServerOptions.caFile(context)
        let budget = try StorageReport.budget(context)
        let status = try context.cache().status(now: now, staleAfter: staleAfter)
        let watcher = try context.cache().watcherState()
        // Details: a write file or folder that cannot be read must not hide the rest of the line.
        let states = status.exists ? try? context.cache().itemStates() : nil
        let storage = status.exists ? try? context.cache().storage(budget: budget) : nil
        var failure: (any Error)?
        if let server { failure = await probe(server, timeout: timeout, caFile: caFile) }
        let offlineReason = failure.map { "\($0)" }
        let online: Bool? = server == nil ? nil : offlineReason == nil
        if context.json {
            var object = json(status, server: server, online: online, offlineReason: offlineReason).objectValue ?? [:]
            object["itemStates"] = states.map { StorageReport.json($0.total) } ?? .null
            object["storage"] = storage.map(StorageReport.json) ?? .null
            context.terminal.line(JSONWriter.compactString(StatusWatch.adding(watcher, to: .object(object))))
        } else {
            let setupProblem = (failure as? TransportError)?.isSetupProblem ?? false
            context.terminal.line(
                line(
                    status, online: online, setupProblem: setupProblem, now: now,
                    terminal: context.terminal)
                    + (storage.map { " · " + StorageReport.usage($0, terminal: context.terminal) } ?? "")
                    + StatusWatch.part(watcher, now: now))
        }
        if let failure = failure as? TransportError, failure.isSetupProblem {
            // Not "offline": waiting does not fix a certificate the client does not trust or a wrong URL.
            context.terminal.error(failure.description, hint: failure.hint)
            return .usage
        }
        guard let problem = status.manifestProblem else { return .ok }
        let (message, hint, code) = CLI.describe(problem)
        context.terminal.error(message, hint: hint)
        return code
    }

    /// - Parameter setupProblem: the server was reached but cannot be used as set up (TLS): not "offline".
    static func line(
        _ status: CacheStatus, online: Bool?, setupProblem: Bool = false, now: Date,
        terminal: Terminal
    ) -> String {
        var parts: [String] = []
        switch online {
        case true?: parts.append(terminal.paint("online", .green))
        case false? where setupProblem: parts.append(terminal.paint("server unusable (see the error)", .red))
        case false?: parts.append(terminal.paint("offline", .yellow))
        case nil: parts.append("no server")
        }
        if status.restoreInterrupted {
            parts.append(terminal.paint("restore running or interrupted (any b1cache command finishes it)", .yellow))
            return parts.joined(separator: " · ")
        }
        guard status.exists else {
            parts.append("nothing cached yet")
            return parts.joined(separator: " · ")
        }
        parts.append(status.pending > 0 ? terminal.paint("\(status.pending) pending", .yellow) : "0 pending")
        parts.append(status.failed > 0 ? terminal.paint("\(status.failed) failed", .red) : "0 failed")
        if let lastSyncAll = status.lastSyncAllAt {
            parts.append("synced " + Timestamp.age(of: lastSyncAll, now: now))
        } else {
            parts.append(status.everSynced ? "no Sync All yet" : "never synced")
        }
        if status.everSynced && !status.stale.isEmpty { parts.append("\(status.stale.count) stale") }
        if let holder = status.lockHolder { parts.append(status.lockStale ? "stale lock" : "\(holder) running") }
        if status.manifestProblem != nil { parts.append(terminal.paint("manifest unreadable", .red)) }
        return parts.joined(separator: " · ")
    }

    static func json(_ status: CacheStatus, server: URL?, online: Bool?, offlineReason: String?) -> JSONValue {
        [
            "root": .string(status.root.path),
            "exists": .bool(status.exists),
            "server": .optionalString(server?.absoluteString),
            "online": online.map { .bool($0) } ?? .null,
            "offlineReason": .optionalString(offlineReason),
            "pending": .integer(status.pending),
            "failed": .integer(status.failed),
            "oldestPendingAt": .optionalDate(status.oldestPendingAt),
            "lastSyncAllAt": .optionalDate(status.lastSyncAllAt),
            "stale": .array(status.stale.map { .string($0.rawValue) }),
            "lock": [
                "held": .bool(status.lockHolder != nil), "command": .optionalString(status.lockHolder),
                "stale": .bool(status.lockStale),
            ],
            "restoreInterrupted": .bool(status.restoreInterrupted),
            "problem": .optionalString(status.manifestProblem?.description),
        ]
    }

    /// `GET /v1/health` with a deadline: nil when the server is up, else why it is not (offline, or a setup
    /// problem such as an untrusted certificate: `TransportError.isSetupProblem`).
    ///
    /// The deadline is ours, not the transport's: a timeout that never fires must not hang a prompt, and the
    /// transport's silence timeout counts whole seconds. The transport's own timeout is only a backstop.
    static func probe(_ server: URL, timeout: TimeInterval, caFile: String?) async -> (any Error)? {
        let client = ServerClient(
            transport: .live(
                baseURL: server, token: nil, timeout: timeout.rounded(.up) + 1,
                caFile: caFile))
        return await withCheckedContinuation { continuation in
            let answer = FirstAnswer(continuation)
            let request = Task {
                do {
                    try await client.checkHealth()
                    answer.give(nil)
                } catch {
                    answer.give(error)
                }
            }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                request.cancel()
                answer.give(Deadline(description: "the server did not answer within \(Format.seconds(timeout))"))
            }
        }
    }
}

/// The probe's own deadline passed.
private struct Deadline: Error, CustomStringConvertible {
    var description: String
}

/// Resumes a continuation with the first answer given, and ignores later ones.
private final class FirstAnswer: Sendable {
    private let continuation: CheckedContinuation<(any Error)?, Never>
    private let answered = Mutex(false)

    init(_ continuation: CheckedContinuation<(any Error)?, Never>) { self.continuation = continuation }

    func give(_ answer: (any Error)?) {
        let first = answered.withLock { answered in
            defer { answered = true }
            return !answered
        }
        if first { continuation.resume(returning: answer) }
    }
}
