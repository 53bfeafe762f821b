import B1Cache
import Foundation

enum PathCommand: Command {
    static let name = "path"
    static let summary = "print the resolved cache folder"
    static let options: Set<String> = []
    static let flags: Set<String> = []
    static let help = """
        Usage: b1cache path [--cache-dir DIR]

        Prints the cache folder b1cache would use, whether or not it exists yet, for scripts:
          jq . "$(b1cache path)/manifest.json"
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        guard context.arguments.positionals.isEmpty else { throw UsageError("'path' takes no arguments") }
        context.terminal.line(context.paths.root.path)
        return .ok
    }
}
