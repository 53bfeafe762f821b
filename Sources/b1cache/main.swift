import B1CacheCLI
import Foundation

// The executable only forwards to the library, so tests can drive the same code.
exit(await CLI.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
