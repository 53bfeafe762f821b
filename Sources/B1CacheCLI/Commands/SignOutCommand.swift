import B1Cache
import Foundation

enum SignOutCommand: Command {
    static let name = "sign-out"
    static let summary = "wipe the cache (refuses while writes are pending)"
    static let options: Set<String> = ["--export-pending"]
    static let flags: Set<String> = ["--force", "--wait"]
    static let help = """
    Usage: b1cache sign-out [--force] [--export-pending FILE] [--cache-dir DIR]

    Deletes the whole cache folder. The wipe is atomic for readers: the folder is renamed aside, then deleted
    (an interrupted wipe is finished by the next b1cache run).

    Pending and failed writes exist nowhere else. While there are any, sign-out refuses (exit 7) and says how
    many would be lost. Flush them first, or:
      --export-pending FILE  save every pending and failed write to FILE (JSON lines, which
                             'b1cache enqueue --batch FILE' accepts after signing in again), then wipe
      --force                wipe and lose them
      --wait                 wait for a running flush or sync instead of exiting 6

    Exit codes: 0 wiped (or nothing to wipe); 7 refused, nothing changed.
    """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'sign-out' takes no arguments") }
        let export = context.arguments.value("--export-pending").map {
            URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath)
        }
        let paths = context.paths
        let force = context.arguments.has("--force")
        // Never wipe under a running flush or sync: take the lock (the wipe renames it away with the root).
        let result: SignOut.Result
        if try CacheRoot.check(paths.root) {
            do {
                result = try CacheLock(paths: paths, command: "sign-out").withLock(wait: context.arguments.has("--wait")) {
                    try SignOut.run(paths: paths, force: force, exportTo: export)
                }
            } catch LockError.symbolicLink(let path) where force {
                // A link planted at the lock was never made by a b1cache process, so no flush or sync holds it:
                // --force wipes anyway (the wipe deletes the link, never what it points to).
                context.terminal.warning("\(path) is a symbolic link, not a lock b1cache made; wiping anyway (--force)")
                result = try SignOut.run(paths: paths, force: force, exportTo: export)
            }
        } else {
            result = try SignOut.run(paths: paths, force: force, exportTo: export)
        }
        if let export, result.exported > 0 || result.removed {
            context.terminal.line("Saved \(result.exported) write\(result.exported == 1 ? "" : "s") to \(export.path).")
        }
        context.terminal.line(result.removed ? "Signed out: deleted \(context.paths.root.path)."
                                             : "Nothing to delete: \(context.paths.root.path) does not exist.")
        return .ok
    }
}
