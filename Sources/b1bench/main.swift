import B1Cache
import Foundation

// b1bench: benchmarks of the B1Cache library on real files, run by `make bench` (scripts/bench.sh).
//
// Each subcommand prints one line of `key=value` pairs on stdout, so scripts parse it with nothing more than
// `tr ' ' '\n'`; errors go to stderr as `b1bench: error: …` with exit 1, usage mistakes exit 2 (as b1cache).
// Throughput is in decimal megabytes (10^6 bytes) per second of the file's size on disk, the unit the SPEC's
// "100,000 invoices ≈ 77 MB" uses, and each figure is the best of several runs: the minimum is the run least
// disturbed by the rest of the machine, which is what a comparison between tools needs.

/// One b1bench subcommand. Add a type and list it in `benchmarks` to make a new one available.
protocol Benchmark {
    /// The first word on the command line.
    static var name: String { get }
    /// The arguments after the name, for the usage text: `FILE [--repeat K]`.
    static var synopsis: String { get }
    /// One line saying what is measured.
    static var summary: String { get }
    /// Runs the benchmark on the words after the name and returns the result as ordered `key=value` pairs.
    /// - Throws: `BenchError.usage` for bad arguments, other `BenchError`s or library errors when it fails.
    static func run(_ arguments: [String]) throws -> [(key: String, value: String)]
}

/// Why a benchmark did not run to the end.
enum BenchError: Error, CustomStringConvertible {
    /// The command line is wrong; the message says how.
    case usage(String)
    /// A file could not be read or written.
    case file(path: String, reason: String)

    var description: String {
        switch self {
        case .usage(let message): message
        case .file(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// The options a benchmark accepts, split from its positional arguments (`--name VALUE` or `--name=VALUE`, and
/// `--flag`).
struct BenchArguments {
    private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var setFlags: Set<String> = []

    /// - Parameters:
    ///   - options: the option names that take a value;
    ///   - flags: the option names that take none. Any other word starting with `--` is refused.
    init(_ words: [String], options: Set<String>, flags: Set<String> = []) throws {
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--") else {
                positionals.append(word)
                continue
            }
            if flags.contains(word) {
                setFlags.insert(word)
                continue
            }
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            guard options.contains(name) else { throw BenchError.usage("unknown option '\(name)'") }
            if parts.count == 2 {
                values[name] = parts[1]
            } else {
                guard index < words.count else { throw BenchError.usage("\(name) needs a value") }
                values[name] = words[index]
                index += 1
            }
        }
    }

    /// The value of a positive-integer option, or `defaultValue` when it is absent.
    func positiveInteger(_ name: String, default defaultValue: Int) throws -> Int {
        try positiveInteger(name) ?? defaultValue
    }

    /// The value of a positive-integer option, or nil when it is absent.
    func positiveInteger(_ name: String) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), value > 0 else { throw BenchError.usage("\(name) needs a positive integer") }
        return value
    }

    /// True when the flag was given.
    func has(_ flag: String) -> Bool { setFlags.contains(flag) }
}

/// `load-rewrite FILE [--repeat K]`: how fast an envelope file is loaded, and written back durably.
///
/// - load: read the whole file and `Envelope.decode` it (parse, check every item's id) — what any command that
///   needs a collection pays.
/// - rewrite: `Envelope.write(to:)` to a sibling file (streamed encoding into a temp file, fsync, rename, fsync of the
///   folder) — what a sync or flush pays to replace a collection, minus the small manifest update.
///
/// Also checks that the rewritten bytes equal the file's (`roundtrip=identical`), which holds for any file
/// written as b1cache writes them, such as those of scripts/gen-invoices.py.
enum LoadRewriteBenchmark: Benchmark {
    static let name = "load-rewrite"
    static let synopsis = "FILE [--repeat K]"
    static let summary = "load (read + decode) and durable rewrite of an envelope, best of K runs (default 3)"

    static func run(_ arguments: [String]) throws -> [(key: String, value: String)] {
        let parsed = try BenchArguments(arguments, options: ["--repeat"])
        guard parsed.positionals.count == 1 else { throw BenchError.usage("load-rewrite takes one FILE") }
        let repetitions = try parsed.positiveInteger("--repeat", default: 3)
        let file = URL(fileURLWithPath: parsed.positionals[0])
        // A sibling, so the rewrite lands on the same filesystem as a real one would.
        let rewritten = file.deletingLastPathComponent().appendingPathComponent("\(file.lastPathComponent).b1bench")
        defer { removeBenchFile(rewritten) }

        let clock = ContinuousClock()
        var bestLoad = Duration.seconds(Int64.max)
        var bestRewrite = Duration.seconds(Int64.max)
        var byteCount = 0
        var itemCount = 0
        var identical = true
        for _ in 0..<repetitions {
            // Each run's envelope is released before the next run loads, so at most one tree is alive.
            var data = Data()
            var loaded: Envelope?
            bestLoad = min(
                bestLoad,
                try clock.measure {
                    data = try readFile(file)
                    loaded = try Envelope.decode(data, path: file.path)
                })
            guard let envelope = loaded else { throw BenchError.file(path: file.path, reason: "did not load") }
            bestRewrite = min(bestRewrite, try clock.measure { _ = try envelope.write(to: rewritten) })
            let encoded = try readFile(rewritten)
            byteCount = data.count
            itemCount = envelope.items.count
            identical = identical && encoded == data
        }
        return [
            ("load_mb_s", megabytesPerSecond(byteCount, bestLoad)),
            ("rewrite_mb_s", megabytesPerSecond(byteCount, bestRewrite)),
            ("load_s", seconds(bestLoad)),
            ("rewrite_s", seconds(bestRewrite)),
            ("bytes", String(byteCount)),
            ("items", String(itemCount)),
            ("repeat", String(repetitions)),
            ("roundtrip", identical ? "identical" : "different"),
        ]
    }

    private static func readFile(_ file: URL) throws -> Data {
        do { return try Data(contentsOf: file) } catch {
            throw BenchError.file(path: file.path, reason: "cannot be read (\(error.localizedDescription))")
        }
    }

    /// The rewritten copy is scratch output: failing to remove it must not turn a finished run into a failure.
    private static func removeBenchFile(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }
}

// MARK: - Formatting

func seconds(_ duration: Duration) -> String {
    String(format: "%.4f", duration.secondsValue)
}

func megabytesPerSecond(_ bytes: Int, _ duration: Duration) -> String {
    let elapsed = duration.secondsValue
    return elapsed > 0 ? String(format: "%.1f", Double(bytes) / 1_000_000 / elapsed) : "inf"
}

extension Duration {
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

// MARK: - Entry point

/// The subcommands, in the order the usage text lists them.
let benchmarks: [any Benchmark.Type] = [LoadRewriteBenchmark.self, EnqueueBenchmark.self]

let usage =
    (["usage: b1bench COMMAND [ARGUMENTS]", "", "commands:"]
    + benchmarks.map { "  \($0.name) \($0.synopsis)\n      \($0.summary)" }).joined(separator: "\n")

func printError(_ message: String) {
    try? FileHandle.standardError.write(contentsOf: Data("b1bench: error: \(message)\n".utf8))
}

let words = Array(CommandLine.arguments.dropFirst())
switch words.first {
case "--help", "-h", "help":
    print(usage)
case let name?:
    guard let benchmark = benchmarks.first(where: { $0.name == name }) else {
        printError("unknown command '\(name)'")
        try? FileHandle.standardError.write(contentsOf: Data((usage + "\n").utf8))
        exit(2)
    }
    do {
        let result = try benchmark.run(Array(words.dropFirst()))
        print(result.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    } catch BenchError.usage(let message) {
        printError(message)
        try? FileHandle.standardError.write(
            contentsOf: Data("usage: b1bench \(benchmark.name) \(benchmark.synopsis)\n".utf8))
        exit(2)
    } catch {
        printError("\(error)")
        exit(1)
    }
case nil:
    try? FileHandle.standardError.write(contentsOf: Data((usage + "\n").utf8))
    exit(2)
}
