import B1Cache
import Foundation

enum SignOutCommand: Command {
    static let name = "sign-out"
    static let summary = "wipe the cache (refuses while writes are pending)"
    static let options: Set<String> = ["--export-pending"]
    static let flags: Set<String> = ["--force", "--wait", "--overwrite"]
    static let help = """
        Usage: b1cache sign-out [--force] [--export-pending FILE [--overwrite]] [--cache-dir DIR]

        Deletes the whole cache folder. The wipe is atomic for readers: the folder is renamed aside, then deleted
        (an interrupted wipe is finished by the next b1cache run). A folder that holds anything b1cache does not
        make (a home or project folder given by mistake) is never deleted: sign-out refuses and names what is in it.

        Pending and failed writes exist nowhere else. While there are any, sign-out refuses (exit 7) and says how
        many would be lost. Flush them first, or:
          --export-pending FILE  save every pending and failed write to FILE (JSON lines, which
                                 'b1cache enqueue --batch FILE' accepts after signing in again to the same
                                 account), durably, then wipe. FILE must not exist yet
          --overwrite            let --export-pending replace an existing file (never a link or a device)
          --force                wipe and lose them
          --wait                 wait for a running flush or sync instead of exiting 6

        Exit codes: 0 wiped (or nothing to wipe); 2 not a cache folder, or a bad export path (nothing changed);
        7 refused, nothing changed.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'sign-out' takes no arguments") }
        let export = context.arguments.value("--export-pending").map {
            SignOut.Export(
                file: URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath),
                overwrite: context.arguments.has("--overwrite"))
        }
        if export == nil && context.arguments.has("--overwrite") {
            throw UsageError("--overwrite only applies to --export-pending FILE")
        }
        let paths = context.paths
        let result = try context.cache().signOut(
            force: context.arguments.has("--force"), export: export,
            busy: context.busy)
        if let link = result.plantedLockLink {
            context.terminal.warning("\(link) was a symbolic link, not a lock b1cache made; wiped anyway (--force)")
        }
        if let export, result.exported > 0 || result.removed {
            context.terminal.line(
                "Saved \(result.exported) write\(result.exported == 1 ? "" : "s") to \(export.file.path).")
        }
        context.terminal.line(
            result.removed
                ? "Signed out: deleted \(paths.root.path)."
                : "Nothing to delete: \(paths.root.path) does not exist.")
        return .ok
    }
}
