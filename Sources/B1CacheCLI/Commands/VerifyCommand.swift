import B1Cache
import Foundation

enum VerifyCommand: Command {
    static let name = "verify"
    static let summary = "check every file; --repair quarantines unreadable ones and clears stale staging"
    static let options: Set<String> = []
    static let flags: Set<String> = ["--repair", "--json"]
    static let help = """
        Usage: b1cache verify [--repair] [--json] [--cache-dir DIR]

        Parses every file in the cache (history.jsonl included) and reports: unreadable or invalid files, files
        of a newer b1cache, stray temp files of interrupted writes, a stale lock, manifest entries that disagree
        with their envelopes, symbolic links, and modes other than 0600/0700.

        --repair puts it right without deleting data: unreadable files move to quarantine/, temp orphans are
        removed, manifest entries are rebuilt from the envelopes, modes are reset, a stale lock is broken (an
        unreadable owner.json kept in quarantine/). Files of a newer b1cache are left alone.

        Exit codes: 0 no problems (or all repaired); 8 problems found (and, with --repair, some remain).
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'verify' takes no arguments") }
        let repair = context.arguments.has("--repair")
        let problems = try context.cache().verify(repair: repair)
        if context.json {
            for problem in problems { context.terminal.line(JSONWriter.compactString(json(problem))) }
        } else if problems.isEmpty {
            context.terminal.line("No problems found in \(context.paths.root.path).")
        } else {
            for problem in problems { print(problem, on: context.terminal) }
        }
        let remaining = problems.filter { $0.repair == nil }.count
        if !context.json && !problems.isEmpty {
            context.terminal.line(
                repair
                    ? "\(problems.count - remaining) of \(problems.count) problems repaired."
                    : "\(problems.count) problem\(problems.count == 1 ? "" : "s") found; 'b1cache verify --repair' fixes what it can."
            )
        }
        return remaining == 0 ? .ok : .corrupt
    }

    /// A problem as `--json` prints it (verify and backup alike): `{"detail","kind","path","repair"}`.
    static func json(_ problem: VerifyProblem) -> JSONValue {
        [
            "kind": .string(problem.kind.rawValue), "path": .string(problem.path), "detail": .string(problem.detail),
            "repair": .optionalString(problem.repair),
        ]
    }

    /// A problem as a line for people (verify and backup alike), with what --repair did under it.
    static func print(_ problem: VerifyProblem, on terminal: Terminal) {
        terminal.line("\(terminal.paint(problem.kind.rawValue, .red))  \(problem.path): \(problem.detail)")
        if let repair = problem.repair { terminal.line("  repaired: \(repair)") }
    }
}
