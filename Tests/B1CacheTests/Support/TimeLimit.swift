import Foundation
import Testing

/// Time limits for what a test starts, so `make test` fails instead of hanging: a lock that can never be taken, a
/// `--wait` that waits forever, or a server that never answers ends in a failure that names the command.
///
/// Every process a test starts runs under `runWithTimeLimit` (SIGKILL past the limit) and is waited for with
/// `waitForExit`, which records an issue when the limit killed it. Suites also carry `.timeLimit`, but Swift Testing
/// cannot stop a test blocked in a synchronous wait, so the limits on processes and waits are what hold.
extension Process {
    /// The pids that `runWithTimeLimit` killed, each with what it was and its limit.
    private static let killedByLimit = Locked<[Int32: String]>()

    /// Starts the process; if it still runs after `seconds` it is SIGKILLed (`waitForExit` then fails the test).
    func runWithTimeLimit(_ seconds: TimeInterval = CommandRunner.defaultTimeout) throws {
        try run()
        let pid = processIdentifier
        let what = ([executableURL?.lastPathComponent ?? "?"] + (arguments ?? [])).joined(separator: " ")
        // Weak: holding the process (and so its pipes' descriptors) for the whole limit would keep thousands of
        // descriptors open over a suite run. A process already released has been waited for.
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in
            guard let self, isRunning else { return }
            Process.killedByLimit.update { $0[pid] = "\(what) (limit \(Int(seconds)) s)" }
            kill(pid, SIGKILL)
        }
    }

    /// Waits for the process to end, and records an issue when its time limit had to kill it.
    func waitForExit(sourceLocation: SourceLocation = #_sourceLocation) {
        waitUntilExit()
        let pid = processIdentifier
        if let what = Process.killedByLimit.update({ $0.removeValue(forKey: pid) }) {
            Issue.record("killed for running past its time limit: \(what)", sourceLocation: sourceLocation)
        }
    }
}

extension DispatchSemaphore {
    /// Waits at most `seconds`; records an issue and returns false when the signal never came.
    func wait(seconds: TimeInterval, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if wait(timeout: .now() + seconds) == .success { return true }
        Issue.record("gave up after \(Int(seconds)) s waiting for \(what)", sourceLocation: sourceLocation)
        return false
    }
}

extension Trait where Self == TimeLimitTrait {
    /// The time limit of every test (each suite carries it): minutes more than the slowest test takes in `make test`,
    /// an hour under `make stress`, whose scenarios run for minutes.
    static var perTestTimeLimit: Self { .timeLimit(Stress.isLong ? .minutes(60) : .minutes(5)) }
}
