import B1Cache
import Foundation

/// A running `b1cache watch` (the real binary), its stderr and stdout collected line by line, SIGKILLed when the value goes
/// away if still running.
final class WatchProcess: @unchecked Sendable {
    let process = Process()
    private let errorLines = Locked<[String]>()
    private let outputLines = Locked<[String]>()
    private let readers: [Thread]

    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = CommandRunner.binary
        process.arguments = ["watch"] + arguments
        var base = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/tmp",
        ]
        base.merge(environment) { $1 }
        process.environment = base
        let errorOutput = Pipe()
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorOutput
        process.standardInput = FileHandle.nullDevice
        readers = [Self.reader(errorOutput, into: errorLines), Self.reader(output, into: outputLines)]
        try process.run()
        for reader in readers { reader.start() }
    }

    /// A thread that collects what `pipe` carries, line by line, until its end.
    private static func reader(_ pipe: Pipe, into lines: Locked<[String]>) -> Thread {
        Thread {
            var pending = Data()
            while true {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let end = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...end)
                    lines.update { $0.append(line) }
                }
            }
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var pid: Int32 { process.processIdentifier }
    /// stderr's lines so far (the events' text).
    var lines: [String] { errorLines.value ?? [] }
    var output: String { lines.joined(separator: "\n") }
    /// stdout's lines so far (the events' JSON, with `--json`).
    var jsonLines: [String] { outputLines.value ?? [] }

    /// Waits until a line of stderr contains `text` (true), or `timeout` passes or the process ends (false).
    @discardableResult
    func waitForLine(containing text: String, timeout: TimeInterval = 60) -> Bool {
        Wait.until(timeout: timeout) { self.lines.contains { $0.contains(text) } || !self.process.isRunning }
        return lines.contains { $0.contains(text) }
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the exit; nil when it is still running after `timeout` (then it is SIGKILLed).
    func waitForExit(timeout: TimeInterval = 30) -> Int32? {
        Wait.until(timeout: timeout) { !self.process.isRunning }
        guard !process.isRunning else {
            signal(SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }
}

enum Wait {
    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held. A condition that
    /// throws (a file read while it is being replaced) counts as not holding yet.
    @discardableResult
    static func until(timeout: TimeInterval = 60, _ condition: () throws -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? condition()) == true { return true }
            usleep(50_000)
        }
        return (try? condition()) == true
    }
}
