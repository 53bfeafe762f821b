import B1CacheCLI
import Foundation

// First, before anything opens a file: a descriptor 0-2 closed at start would be handed to the next file opened.
let outputClosed = CLI.prepareStandardStreams()
// The executable only forwards to the library, so tests can drive the same code.
exit(
    await CLI.run(
        Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
        outputClosed: outputClosed))
