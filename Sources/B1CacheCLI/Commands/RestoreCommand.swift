import B1Cache
import Foundation

enum RestoreCommand: Command {
    static let name = "restore"
    static let summary = "replace the cache with a backup (verified first; refuses while writes are pending)"
    static let options: Set<String> = []
    static let flags: Set<String> = ["--force", "--wait", "--json"]
    static let help = """
        Usage: b1cache restore SRC [--force] [--wait] [--json] [--cache-dir DIR]

        Replaces the cache folder with a copy of SRC, a folder made by 'b1cache backup' (or a 'cp -a' of a cache).

        SRC is verified first; if it is not a valid cache, restore lists the problems, exits 8 and changes nothing.
        (Modes and leftover temp files in SRC do not count: the copy is written 0600/0700 without them.)

        Pending and failed writes exist nowhere else. While the cache has any, restore refuses (exit 7) and says
        how many would be lost: flush them first, keep them with 'b1cache backup', or:
          --force   replace the cache and lose them
          --wait    wait for a running flush or sync instead of exiting 6

        The swap is atomic for readers: SRC is copied beside the cache folder and fsynced, then the old folder is
        renamed aside, the copy renamed into place, and the old folder deleted. If restore is killed, the next
        b1cache command finishes the swap (or, if it had not started, removes the copy): the cache is always the old
        one or the new one. Restoring into a cache folder that does not exist yet works too.

        Options:
          --json    print {"source", "root", "files", "bytes", "replaced", "lostPending", "lostFailed"}

        Exit codes: 0 restored; 2 SRC missing or overlapping the cache; 6 busy (lock held); 7 refused, writes
        pending (nothing changed); 8 SRC is not a valid cache (nothing changed).
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.count == 1, let source = context.arguments.positionals.first,
            !source.isEmpty
        else {
            throw UsageError(
                "'restore' takes one argument, the backup folder",
                hint: "e.g. b1cache restore ~/b1cache-backup")
        }
        let result = try context.cache().restore(
            from: absolute(source), force: context.arguments.has("--force"),
            busy: context.busy)
        if context.json {
            context.terminal.line(
                JSONWriter.compactString([
                    "source": .string(result.source.path), "root": .string(result.root.path),
                    "files": .integer(result.files), "bytes": .integer(Int(result.bytes)),
                    "replaced": .bool(result.replaced),
                    "lostPending": .integer(result.lostPending), "lostFailed": .integer(result.lostFailed),
                ]))
            return .ok
        }
        context.terminal.line(
            "Restored \(result.root.path) from \(result.source.path): \(result.files) files, "
                + "\(Format.bytes(result.bytes)).")
        let lost = result.lostPending + result.lostFailed
        if lost > 0 {
            context.terminal.warning(
                "discarded \(result.lostPending) pending and \(result.lostFailed) failed "
                    + "write\(lost == 1 ? "" : "s") of the replaced cache (--force)")
        }
        return .ok
    }

    /// An absolute URL for a path given on the command line (`~` expanded, relative to the current directory).
    static func absolute(_ path: String) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        return expanded.hasPrefix("/")
            ? URL(fileURLWithPath: expanded)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(expanded)
    }
}
