import B1Cache
import Foundation
import Testing

/// SIGKILL of `backup` at random moments: the cache it copies is untouched, the destination is either absent or
/// a whole verified copy (never a half one), and the next backup to the same destination works and leaves no
/// hidden leftovers.
@Suite(.perTestTimeLimit) final class BackupCrashTests {
    let folder = TemporaryFolder()

    @Test func aKilledBackupLeavesNoHalfCopyAndTheNextOneWorks() throws {
        let rounds = Stress.count(short: 10, long: 60, override: "B1CACHE_BACKUP_KILL_ROUNDS")
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        let original = try snapshotFiles(under: cache)
        let shelf = folder.path("backups")
        try FileManager.default.createDirectory(at: shelf, withIntermediateDirectories: true)
        let destination = shelf.appendingPathComponent("copy")
        // Kill anywhere within 1.5× the time a whole backup takes here (process start included).
        let clock = ContinuousClock()
        let whole = try clock.measure {
            _ = try CommandRunner.b1cache(["backup", destination.path, "--cache-dir", cache.path])
        }
        let window = UInt32(
            max(5_000, Double(whole.components.seconds) * 1.5e6 + Double(whole.components.attoseconds) / 1e12 * 1.5))
        var generator = SystemRandomNumberGenerator()
        var complete = 0, absent = 0
        for round in 0..<rounds {
            try? FileManager.default.removeItem(at: destination)
            let process = try Stress.start(["backup", destination.path, "--cache-dir", cache.path])
            usleep(UInt32.random(in: 0...window, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            let now = try snapshotFiles(under: cache).filter { !$0.key.hasPrefix("flush.lock/") }
            #expect(now == original, "round \(round): backup changed the cache it copied")
            if FileManager.default.fileExists(atPath: destination.path) {
                let verify = try CommandRunner.b1cache(["verify", "--cache-dir", destination.path])
                #expect(verify.status == 0, "round \(round): \(verify.output)")
                #expect(
                    try snapshotFiles(under: destination) == original, "round \(round): the copy differs from the cache"
                )
                complete += 1
            } else {
                absent += 1
            }
        }
        // The next backup to the same place works (after the grace period of a lock killed before its owner file)
        // and clears the hidden copies the killed ones left.
        try? FileManager.default.removeItem(at: destination)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: shelf.path).count
        let next = try CommandRunner.b1cache(["backup", destination.path, "--wait", "--cache-dir", cache.path])
        #expect(next.status == 0, "\(next.output)\(next.errorOutput)")
        #expect(try snapshotFiles(under: destination) == original)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: shelf.path).filter { $0 != "copy" }
        #expect(leftovers.isEmpty, "\(leftovers)")
        Stress.record(
            "crash/backup",
            "\(rounds) SIGKILLs within \(window / 1000) ms: \(complete) left a whole verified copy, \(absent) no copy; "
                + "the cache was never changed; the next backup cleared the \(hidden) hidden copies left")
    }
}
