import B1Cache
import Foundation
import Testing

/// Standard output that cannot be written (closed at start, a full disk, a pipe whose reader is gone) and standard
/// output that is not a terminal (a file, a pipe): b1cache never traps, never writes its output into a cache file,
/// and keeps progress out of the result.
@Suite final class OutputTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    /// `b1cache` through `/bin/sh` with `redirection` applied to it (`>&-`, `>/dev/full`).
    func b1cache(_ arguments: [String], redirection: String, environment: [String: String] = [:]) throws
        -> CommandResult
    {
        let quoted = ([CommandRunner.binary.path] + arguments + ["--cache-dir", cache.path])
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        return try CommandRunner.run(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "exec \(quoted.joined(separator: " ")) \(redirection)"], environment: environment)
    }

    func expectCleanFailure(_ result: CommandResult, reason: String, _ what: String) {
        #expect(result.status == 1, "\(what): \(result.status) \(result.errorOutput)")
        #expect(!result.killedBySignal, "\(what)")
        #expect(
            result.errorOutput.contains("b1cache: error: cannot write to standard output (\(reason))"),
            "\(what): \(result.errorOutput)")
        #expect(
            !result.errorOutput.contains("Fatal error") && !result.errorOutput.contains("Backtrac"),
            "\(what): \(result.errorOutput)")
    }

    @Test func statusWithStdoutClosedExits1WithAMessageAndNoBacktrace() throws {
        let result = try b1cache(["status"], redirection: ">&-")
        expectCleanFailure(result, reason: "it was closed when b1cache started", "status >&-")
        #expect(result.errorOutput.contains("only its output was lost"))
    }

    @Test func showIntoAFullDiskExits1WithTheSystemsReason() throws {
        for arguments in [["show", "invoices"], ["inspect"], ["queue"], ["log"], ["--help"]] {
            let result = try b1cache(arguments, redirection: ">/dev/full")
            expectCleanFailure(result, reason: "No space left on device", "\(arguments) > /dev/full")
        }
    }

    /// A pipe whose reader is gone: the write fails with EPIPE (SIGPIPE is ignored), so the command is not killed
    /// half-way and says why its output is missing.
    @Test func aPipeWithoutReaderIsAFailedWriteNotASuddenDeath() throws {
        let process = Process()
        process.executableURL = CommandRunner.binary
        process.arguments = ["show", "invoices", "--cache-dir", cache.path]
        let output = Pipe(), errorOutput = Pipe()
        try output.fileHandleForReading.close()
        process.standardOutput = output
        process.standardError = errorOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try output.fileHandleForWriting.close()
        let errors = String(decoding: errorOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let result = CommandResult(
            status: process.terminationStatus, output: "", errorOutput: errors,
            killedBySignal: process.terminationReason == .uncaughtSignal)
        expectCleanFailure(result, reason: "Broken pipe", "show | (closed)")
    }

    /// With stdout closed, the first file b1cache opened used to become descriptor 1: what it printed went into
    /// that file. Now /dev/null takes the place, so the queue file and the envelopes hold only their JSON.
    @Test func withStdoutClosedNothingPrintedLandsInACacheFile() throws {
        let payload = #"{"itemId":"\#(Sample.openItem)","action":"ignore"}"#
        let enqueued = try b1cache(["enqueue", "missed-billing.action", "--payload", payload], redirection: ">&-")
        expectCleanFailure(enqueued, reason: "it was closed when b1cache started", "enqueue >&-")
        let server = try ReferenceServer(database: folder.path("server.db"))
        let synced = try b1cache(["sync"], redirection: ">&-", environment: server.environment())
        expectCleanFailure(synced, reason: "it was closed when b1cache started", "sync >&-")
        #expect(try WriteQueue(paths: CachePaths(root: cache)).readablePending().isEmpty, "the sync flushed the queue")
        // Every file is still whole JSON (a line of output in it would break that), history line by line.
        for (name, data) in try snapshotFiles(under: cache) {
            if name.hasSuffix(".json") {
                #expect(throws: Never.self, "\(name)") { try JSONParser.parse(data) }
            } else if name.hasSuffix(".jsonl") {
                for line in data.split(separator: 0x0A) {
                    #expect(throws: Never.self, "\(name)") { try JSONParser.parse(Data(line)) }
                }
            }
        }
        let verified = try CommandRunner.b1cache(["verify", "--cache-dir", cache.path])
        #expect(verified.status == 0, "\(verified.output)\(verified.errorOutput)")
    }

    /// `flush | cat`, `flush > file`: stdout holds the result and nothing else, and so does stderr when it is no
    /// terminal either (the runner's pipes are neither).
    @Test func flushAndSyncIntoAPipePrintOnlyTheResult() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let flushed = try CommandRunner.b1cache(
            ["flush", "--batch-size", "1", "--cache-dir", cache.path],
            environment: server.environment())
        #expect(flushed.status == 0, "\(flushed.errorOutput)")
        #expect(flushed.lines.count == 1 && flushed.output.hasPrefix("Flushed 3 writes"), "\(flushed.output)")
        #expect(flushed.errorOutput.isEmpty, "\(flushed.errorOutput)")
        let synced = try CommandRunner.b1cache(["sync", "--cache-dir", cache.path], environment: server.environment())
        #expect(synced.status == 0, "\(synced.errorOutput)")
        #expect(!synced.output.contains("\r") && !synced.output.contains("…") && !synced.output.contains("sent "))
        #expect(synced.lines.last?.hasPrefix("Synced 9 of 9 collections") == true, "\(synced.output)")
        #expect(synced.errorOutput.isEmpty, "\(synced.errorOutput)")
    }

    /// stdout a pipe, stderr a terminal (a pseudo-terminal made by python's `pty`): the progress is drawn on the
    /// terminal, the pipe still gets only the result.
    @Test func withStderrOnATerminalProgressGoesThereAndStdoutKeepsOnlyTheResult() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let script = """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            seen = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            sys.stdout.write(p.stdout.decode() + "--- terminal ---\\n" + seen.decode(errors="replace"))
            sys.exit(p.returncode)
            """
        let result = try CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c", script, CommandRunner.binary.path, "flush", "--batch-size", "1", "--cache-dir",
                cache.path,
            ],
            environment: server.environment())
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        let parts = result.output.components(separatedBy: "--- terminal ---\n")
        #expect(parts.count == 2)
        #expect(
            parts.first?.hasPrefix("Flushed 3 writes") == true && parts.first?.contains("\r") == false,
            "\(result.output)")
        #expect(parts.last?.contains("3/3") == true, "the terminal shows the progress: \(parts.last ?? "")")
    }
}
