import B1Cache
import Foundation

/// What every command gets: its parsed arguments, the cache (paths resolved once, one `Cache` handle), the
/// environment and the terminal.
struct CommandContext {
    let arguments: Arguments
    let environment: [String: String]
    let terminal: Terminal
    let paths: CachePaths
    /// Opened by `CLI.run` before the command runs; nil only for `path`, which must work on any folder.
    private let opened: Cache?

    init(arguments: Arguments, environment: [String: String], terminal: Terminal, cache: Cache?) {
        self.arguments = arguments
        self.environment = environment
        self.terminal = terminal
        paths = cache?.paths ?? CachePaths.resolve(flag: arguments.value("--cache-dir"), environment: environment)
        opened = cache
    }

    /// The one cache handle of this run: every command is a thin client of it (SPEC §12).
    func cache() throws -> Cache { try opened ?? Cache.open(paths, recover: false) }

    var json: Bool { arguments.has("--json") }
    /// `--wait`: wait for a lock another process holds, instead of exit 6.
    var busy: Cache.Busy { arguments.has("--wait") ? .wait : .fail }
}

/// A `b1cache` subcommand.
protocol Command: Sendable {
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text (usage, options, examples).
    static var help: String { get }
    /// Options that take a value (besides `--cache-dir`).
    static var options: Set<String> { get }
    /// Flags (besides `--help`).
    static var flags: Set<String> { get }
    static func run(_ context: CommandContext) async throws -> ExitCode
}

/// The `b1cache` command line: parses, dispatches, and turns errors into `b1cache: error: …` and exit codes.
public enum CLI {
    static let commands: [any Command.Type] = [
        InspectCommand.self, ShowCommand.self, QueueCommand.self, EnqueueCommand.self, DropCommand.self,
        FlushCommand.self, SyncCommand.self, RetryCommand.self, LogCommand.self, VerifyCommand.self, PathCommand.self,
        SignOutCommand.self, StatusCommand.self, BackupCommand.self, RestoreCommand.self, WatchCommand.self,
        CompletionsCommand.self, ManCommand.self,
    ]

    /// Runs one invocation. `arguments` excludes the program name.
    /// - Parameter outputClosed: stdout was closed when the process started (`b1cache status >&-`); the first write
    ///   to it then fails as a write to a full disk does.
    /// - Returns: the exit code; 1 when stdout could not be written, whatever the command did (it is said on stderr).
    public static func run(
        _ arguments: [String], environment: [String: String],
        outputClosed: Bool = false
    ) async -> Int32 {
        let terminal = Terminal(environment: environment, outputClosed: outputClosed)
        let code = await dispatch(arguments, environment: environment, terminal: terminal)
        terminal.flush()
        guard let reason = terminal.outputFailure else { return code }
        terminal.error(
            "cannot write to standard output (\(reason))",
            hint: code == ExitCode.ok.rawValue
                ? "the command itself succeeded; only its output was lost"
                : "the command had ended with exit code \(code) before that")
        return ExitCode.failure.rawValue
    }

    /// Makes the standard streams safe to write: `/dev/null` onto any of 0-2 that is closed, so no file the command
    /// opens can become its stdout, and SIGPIPE ignored, so a closed pipe is a failed write, not a sudden death.
    /// - Returns: true when stdout was closed (pass it to `run`).
    /// - Important: Call it first thing in `main`, before anything opens a file.
    public static func prepareStandardStreams() -> Bool {
        Console.prepareStandardStreams().contains(1)
    }

    static func dispatch(_ arguments: [String], environment: [String: String], terminal: Terminal) async -> Int32 {
        guard let first = arguments.first else {
            terminal.note(overview)
            return ExitCode.usage.rawValue
        }
        if first == "--help" || first == "-h" || first == "help" {
            if arguments.count > 1, let command = commands.first(where: { $0.name == arguments[1] }) {
                terminal.line(command.help)
            } else {
                terminal.line(overview)
            }
            return ExitCode.ok.rawValue
        }
        if first == "--version" {
            terminal.line("b1cache \(version) (\(build))")
            return ExitCode.ok.rawValue
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            let guess = Spelling.closest(to: first, among: commands.map { $0.name })
            let message = "unknown command '\(first)'" + (guess.map { "; did you mean '\($0)'?" } ?? "")
            let hint = "run 'b1cache --help' for the list of commands"
            terminal.error(message, hint: hint)
            if arguments.contains("--json") {
                terminal.line(JSONWriter.compactString(errorJSON(message, hint, .usage)))
            }
            return ExitCode.usage.rawValue
        }
        let words = Array(arguments.dropFirst())
        if words.contains("--help") || words.contains("-h") {
            terminal.line(command.help)
            return ExitCode.ok.rawValue
        }
        do {
            let parsed = try Arguments(
                words, options: command.options.union(["--cache-dir"]),
                flags: command.flags, command: command.name)
            let paths = CachePaths.resolve(flag: parsed.value("--cache-dir"), environment: environment)
            // Opening finishes a sign-out or restore interrupted between its renames and its delete; status only
            // reads (it reports one); path only prints where the folder is, completions and man need none.
            let folderless: Set<String> = [PathCommand.name, CompletionsCommand.name, ManCommand.name]
            let cache =
                folderless.contains(command.name)
                ? nil
                : try Cache.open(paths, recover: command.name != StatusCommand.name)
            let context = CommandContext(arguments: parsed, environment: environment, terminal: terminal, cache: cache)
            return try await command.run(context).rawValue
        } catch {
            let (message, hint, code) = describe(error)
            terminal.error(message, hint: hint)
            // A script piping --json into jq gets an object naming the failure, not an empty stdout.
            if words.contains("--json") { terminal.line(JSONWriter.compactString(errorJSON(message, hint, code))) }
            return code.rawValue
        }
    }

    /// `{"error": {"code", "message", "hint", "exitStatus"}}`, what a failing `--json` command prints on stdout.
    static func errorJSON(_ message: String, _ hint: String, _ code: ExitCode) -> JSONValue {
        [
            "error": [
                "code": .string(code.name), "message": .string(message),
                "hint": .optionalString(hint.isEmpty ? nil : hint),
                "exitStatus": .integer(Int(code.rawValue)),
            ]
        ]
    }

    /// The sentence, hint and exit code for an error that reached the top.
    static func describe(_ error: Error) -> (String, String, ExitCode) {
        switch error {
        case let error as UsageError:
            return (error.description, error.hint, .usage)
        case let error as StoreError:
            switch error {
            case .corrupt, .unsupportedSchema, .symbolicLink: return (error.description, error.hint, .corrupt)
            case .unknownCollection, .notACache: return (error.description, error.hint, .usage)
            default: return (error.description, error.hint, .failure)
            }
        case let error as QueueError:
            if case .otherAccount = error { return (error.description, error.hint, .unauthorized) }
            return (error.description, error.hint, .usage)
        case let error as LockError:
            switch error {
            case .busy, .timedOut: return (error.description, error.hint, .busy)
            case .ioFailure: return (error.description, error.hint, .failure)
            case .symbolicLink: return (error.description, error.hint, .corrupt)
            }
        case let error as FlushError:
            return (error.description, error.hint, .offline)
        case let error as ServerError:
            switch error {
            case .unauthorized, .otherAccount, .writesOfOtherAccount, .writesOfUnknownAccount:
                return (error.description, error.hint, .unauthorized)
            default: return (error.description, error.hint, .failure)
            }
        case let error as TransportError:
            let code: ExitCode = error.isOffline ? .offline : error.isSetupProblem ? .usage : .failure
            return (error.description, error.hint, code)
        case let error as BackupError:
            switch error {
            case .nothingToBackUp: return (error.description, error.hint, .failure)
            case .writesWouldBeLost: return (error.description, error.hint, .refused)
            case .sourceNotACache, .invalidSource: return (error.description, error.hint, .corrupt)
            default: return (error.description, error.hint, .usage)
            }
        case let error as TriageError:
            if case .unknownClient = error { return (error.description, error.hint, .failure) }
            return (error.description, error.hint, .usage)
        case let error as SignOutError:
            switch error {
            case .writesPending: return (error.description, error.hint, .refused)
            case .exportInsideCache, .exportExists: return (error.description, error.hint, .usage)
            }
        default:
            return ("\(error)", "", .failure)
        }
    }

    static let version = "0.1.0"

    /// How this binary was built, for `--version`: `make release` links the Swift runtime in (B1CACHE_STATIC).
    #if B1CACHE_STATIC
        static let build = "static: the Swift runtime is linked in; needs only the system's libc and libcurl"
    #else
        static let build = "dynamic: needs the Swift runtime libraries it was built with"
    #endif

    static var overview: String {
        var width = 0
        for command in commands { width = max(width, command.name.count) }
        var list: [String] = []
        for command in commands {
            list.append(
                "  " + command.name + String(repeating: " ", count: width - command.name.count) + "  " + command.summary
            )
        }
        return """
            b1cache — the offline cache of a BillingOne finance client

            Usage: b1cache COMMAND [OPTIONS]

            Commands:
            \(list.joined(separator: "\n"))

            Every command takes --cache-dir DIR (default: $B1CACHE_DIR, else $XDG_CACHE_HOME/billingone,
            else ~/.cache/billingone) and --help. 'b1cache --help' prints this on stdout (exit 0); 'b1cache' alone
            prints it on stderr and exits 2, as for any other usage mistake.

            Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 flush incomplete, 4 offline,
            5 unauthorized, 6 busy (lock held), 7 refused, 8 corrupt data found.
            """
    }
}
