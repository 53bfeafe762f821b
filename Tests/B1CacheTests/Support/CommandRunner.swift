import Foundation
import Testing

/// The outcome of running a real process.
struct CommandResult: Sendable {
    var status: Int32
    var output: String
    var errorOutput: String
    /// True when the process was ended by a signal (a crash, or the runner's timeout) instead of exiting.
    var killedBySignal = false

    var lines: [String] { output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// Runs the built `b1cache` binary (and other programs) through `Process`, as a user would.
enum CommandRunner {
    /// The binary under test: `$B1CACHE_BIN` (set by `make test`), else next to the test bundle.
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["B1CACHE_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("b1cache")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return Repository.root.appendingPathComponent(".build/debug/b1cache")
    }()

    /// How long any process a test starts may run before it is SIGKILLed and the test fails: far more than any
    /// command takes here (seconds at most), so only a hang reaches it, and `make test` fails instead of hanging.
    static let defaultTimeout: TimeInterval = Stress.isLong ? 900 : 120

    /// Runs `b1cache` with `arguments`, a clean environment plus `environment`, and optional standard input.
    /// - Parameters:
    ///   - umask: run under this umask (through `/bin/sh`).
    ///   - fileSizeLimit: run with RLIMIT_FSIZE of this many bytes (a multiple of 512) and SIGXFSZ ignored, so a
    ///     write past it fails with EFBIG: a write that fails on a chosen file, even as root (modes do not stop root).
    static func b1cache(
        _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
        umask: String? = nil, fileSizeLimit: Int? = nil,
        timeout: TimeInterval = defaultTimeout
    ) throws -> CommandResult {
        if umask != nil || fileSizeLimit != nil {
            let quoted = ([binary.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            var prelude = umask.map { "umask \($0); " } ?? ""
            // An ignored signal stays ignored across exec, so b1cache gets EFBIG instead of being killed.
            if let fileSizeLimit { prelude += "trap '' XFSZ; ulimit -f \(fileSizeLimit / 512); " }
            return try run(
                URL(fileURLWithPath: "/bin/sh"), ["-c", prelude + "exec \(quoted.joined(separator: " "))"],
                environment: environment, input: input, timeout: timeout)
        }
        return try run(binary, arguments, environment: environment, input: input, timeout: timeout)
    }

    /// Runs a program and waits for it; past `timeout` it is SIGKILLed and the test fails with an issue naming the
    /// command (a hang becomes a failure instead of a test run that never ends).
    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        input: Data? = nil, timeout: TimeInterval = defaultTimeout
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var base = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/tmp",
        ]
        base.merge(environment) { $1 }
        process.environment = base
        let output = Pipe(), errorOutput = Pipe(), inputPipe = Pipe()
        process.standardOutput = output
        process.standardError = errorOutput
        process.standardInput = inputPipe
        try process.runWithTimeLimit(timeout)
        if let input { inputPipe.fileHandleForWriting.write(input) }
        try inputPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty process cannot block on a full pipe.
        let errorData = Locked<Data>()
        let reader = Thread { errorData.set(errorOutput.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitForExit()
        while !errorData.isSet { usleep(1000) }
        try? output.fileHandleForReading.close()
        try? errorOutput.fileHandleForReading.close()
        return CommandResult(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errorOutput: String(decoding: errorData.value ?? Data(), as: UTF8.self),
            killedBySignal: process.terminationReason == .uncaughtSignal)
    }

    /// `jq` on a file, for checks that compare b1cache with what a script would see.
    static func jq(_ filter: String, _ file: URL) throws -> String {
        try run(URL(fileURLWithPath: "/usr/bin/env"), ["jq", "-r", filter, file.path]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A value set once from another thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    func set(_ value: Value) { lock.lock(); stored = value; lock.unlock() }
    var value: Value? { lock.lock(); defer { lock.unlock() }; return stored }
    var isSet: Bool { value != nil }
    /// Changes the value in place under the lock (starting from `init()` when unset).
    func update<T>(_ change: (inout Value) -> T) -> T where Value: ExpressibleByDefault {
        lock.lock(); defer { lock.unlock() }
        var current = stored ?? Value.defaultValue
        let result = change(&current)
        stored = current
        return result
    }
}

/// Values `Locked.update` can start from.
protocol ExpressibleByDefault { static var defaultValue: Self { get } }
extension Array: ExpressibleByDefault { static var defaultValue: Self { [] } }
extension Dictionary: ExpressibleByDefault { static var defaultValue: Self { [:] } }
