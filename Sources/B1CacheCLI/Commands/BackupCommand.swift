import B1Cache
import Foundation

enum BackupCommand: Command {
    static let name = "backup"
    static let summary = "consistent copy of the cache to DEST (under the lock), then verify the copy"
    static let options: Set<String> = []
    static let flags: Set<String> = ["--wait", "--json"]
    static let help = """
        Usage: b1cache backup DEST [--wait] [--json] [--cache-dir DIR]

        Copies the cache folder to DEST while holding the cache lock, so no flush or sync changes it meanwhile
        (writes queued meanwhile are copied whole), then runs 'verify' on the copy. The copy is built in a hidden
        folder beside DEST and renamed to DEST at the end, so DEST appears complete or not at all; files are 0600
        and folders 0700 whatever the umask. The lock, temp files and staging are not copied.

        DEST must not exist, or be an empty folder; its parent must exist; it may not be inside the cache.
        Restore with 'b1cache restore DEST'. While no b1cache command runs, 'cp -a' of the folder is a backup too.

        Options:
          --wait    wait for a running flush or sync instead of exiting 6
          --json    print {"destination", "files", "bytes", "skipped", "problems"} (problems as 'verify --json')

        Exit codes: 0 copied and verified; 1 nothing to back up (no cache folder); 2 bad DEST; 6 busy (lock held);
        8 the copy was made but verify found problems in it (they are in the cache too: see 'b1cache verify').
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.count == 1, let destination = context.arguments.positionals.first,
            !destination.isEmpty
        else {
            throw UsageError(
                "'backup' takes one argument, the destination folder",
                hint: "e.g. b1cache backup ~/b1cache-backup")
        }
        let result = try context.cache().backup(to: RestoreCommand.absolute(destination), busy: context.busy)
        let terminal = context.terminal
        if context.json {
            terminal.line(
                JSONWriter.compactString([
                    "destination": .string(result.destination.path), "files": .integer(result.files),
                    "bytes": .integer(Int(result.bytes)), "skipped": .array(result.skipped.map { .string($0) }),
                    "problems": .array(result.problems.map(VerifyCommand.json)),
                ]))
        } else {
            terminal.line(
                "Backed up \(context.paths.root.path) to \(result.destination.path): \(result.files) files, "
                    + "\(Format.bytes(result.bytes)).")
            for problem in result.problems { VerifyCommand.print(problem, on: terminal) }
        }
        for skipped in result.skipped { terminal.warning("not copied: \(skipped)") }
        guard result.problems.isEmpty else {
            let count = result.problems.count, destination = result.destination.path
            terminal.error(
                "verify found \(count) problem\(count == 1 ? "" : "s") in the backup at \(destination)",
                hint: "they were copied from the cache: run 'b1cache verify', then "
                    + "'b1cache verify --repair' and back up again")
            return .corrupt
        }
        if !context.json { terminal.line("verify: no problems found in the copy.") }
        return .ok
    }
}
