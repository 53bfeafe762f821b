import B1Cache
import Foundation
import Testing

/// SIGKILL of `sign-out` at random moments: the cache is either untouched (the kill came first) or gone for
/// every reader, and the next run deletes what the killed one had renamed aside.
@Suite(.perTestTimeLimit) final class SignOutCrashTests {
    let folder = TemporaryFolder()

    @Test func aKilledSignOutNeverLeavesThePreviousAccountsDataReadable() throws {
        let rounds = Stress.count(short: 12, long: 100, override: "B1CACHE_SIGNOUT_KILL_ROUNDS")
        let parent = folder.path("home")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let cache = parent.appendingPathComponent("billingone")
        let export = folder.path("pending.jsonl")
        let original = try snapshotFiles(under: Repository.copySampleCache(to: folder.path("original")))
        // Kill anywhere within 1.5× the time a whole sign-out takes here (process start included).
        _ = try Repository.copySampleCache(to: cache)
        let clock = ContinuousClock()
        let whole = try clock.measure {
            _ = try CommandRunner.b1cache(["sign-out", "--export-pending", export.path, "--cache-dir", cache.path])
        }
        let window = UInt32(
            max(5_000, Double(whole.components.attoseconds) / 1e12 * 1.5 + Double(whole.components.seconds) * 1.5e6))
        var generator = SystemRandomNumberGenerator()
        var untouched = 0, wiped = 0
        for round in 0..<rounds {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: export)
            _ = try Repository.copySampleCache(to: cache)
            let process = try Stress.start(["sign-out", "--export-pending", export.path, "--cache-dir", cache.path])
            usleep(UInt32.random(in: 0...window, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            if FileManager.default.fileExists(atPath: cache.path) {
                // Not wiped yet: then nothing of it changed (an export may have been written outside it).
                var now = try snapshotFiles(under: cache)
                now = now.filter { !$0.key.hasPrefix("flush.lock/") }
                #expect(now == original, "round \(round): a half-wiped cache")
                untouched += 1
            } else {
                // Wiped for readers at once; the folder renamed aside goes with the next run of any command.
                let inspect = try CommandRunner.b1cache(["inspect", "--json", "--cache-dir", cache.path])
                #expect(inspect.status == 0)
                #expect(!inspect.output.contains("org_7f3k2m9q"), "round \(round): the previous account is still shown")
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent.path)
                #expect(leftovers.isEmpty, "round \(round): \(leftovers) left after the next run")
                wiped += 1
            }
            if FileManager.default.fileExists(atPath: export.path) {
                // An export, once it exists, holds every pending and failed write whole.
                let lines = try String(contentsOf: export, encoding: .utf8).split(separator: "\n")
                #expect(lines.count == 5, "round \(round): export has \(lines.count) lines (a header and 4 writes)")
                for line in lines { #expect((try? JSONParser.parse(Data(line.utf8))) != nil) }
            }
        }
        Stress.record(
            "crash/sign-out",
            "\(rounds) SIGKILLs within \(window / 1000) ms: \(untouched) left the cache untouched, \(wiped) wiped it for readers; "
                + "each checked for a half-wiped cache, the previous account shown, and leftovers after the next run")
    }
}
