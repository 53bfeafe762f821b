import Foundation

/// What a command-line front end needs of the process's standard streams, so it never calls libc itself
/// (`System` stays inside the library).
public enum Console {
    /// Makes the standard streams safe to write: `/dev/null` onto any of fds 0-2 that is closed, so no file opened
    /// later can become stdout, and SIGPIPE ignored, so a closed pipe is a failed write, not a sudden death.
    /// - Returns: the descriptors (of 0, 1, 2) that were closed.
    /// - Important: call it first thing in `main`, before anything opens a file.
    public static func prepareStandardStreams() -> Set<Int32> {
        let closed = System.openNullOnClosedStandardStreams()
        System.ignoreBrokenPipeSignal()
        return closed
    }

    /// Whether the descriptor is a terminal (colour and progress are drawn only on one).
    public static func isTerminal(_ descriptor: Int32) -> Bool { System.isTerminal(descriptor) }

    /// The signals that ask a long-running command to stop (SIGINT, SIGTERM).
    public static var stopSignals: [Int32] { System.stopSignals }

    /// Ignores `signals`, so they reach a `DispatchSource` instead of ending the process at once.
    public static func ignore(_ signals: [Int32]) { System.ignoreSignals(signals) }

    /// The sentence for an errno value (`No space left on device`).
    public static func errorDescription(_ code: Int32) -> String { System.errorDescription(code) }
}
