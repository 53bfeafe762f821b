import B1Cache
import Foundation
import Testing

/// A server that goes away and comes back at random (`/admin/offline`, refused or reset connections) while 4
/// processes enqueue and one `b1cache watch` runs: 5 cycles in `make test`, 50 under `make stress` (scenario
/// `watch-flapping`). Every write is applied exactly once or still queued, none is lost, none applied twice; under
/// `make stress`, the watcher's resident memory at the end is within 10 % of what it was after the first minute.
@Suite(.perTestTimeLimit) final class WatchFlappingTests {
    let folder = TemporaryFolder()
    let cache: URL
    let paths: CachePaths
    let server: ReferenceServer
    let tokenFile: URL
    static let cycles = Stress.count(short: 5, long: 50, override: "B1CACHE_WATCH_FLAP_CYCLES")
    static let enqueuers = 4
    /// Writes each enqueuer may queue at most (each to an item of its own, so none coalesce).
    static let perEnqueuer = Stress.isLong ? 400 : 4
    /// The resident memory after this long is the reference the end is compared with.
    static let warmUp: TimeInterval = 60

    init() throws {
        let seed = try Stress.seed(withExtraItems: Self.enqueuers * Self.perEnqueuer, at: folder.path("seed"))
        cache = folder.path("cache")
        try FileManager.default.copyItem(at: seed, to: cache)
        paths = CachePaths(root: cache)
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
        tokenFile = folder.path("token")
        try Data("b1-dev-token\n".utf8).write(to: tokenFile)
    }

    /// VmRSS of /proc/PID/status, in kilobytes (nil where there is no /proc).
    static func residentKilobytes(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// Waits until the server answers its admin endpoints again and says it is online.
    func waitUntilBack() -> Bool {
        Wait.until(timeout: 60) { (try? self.server.admin("admin/offline"))?["offline"] == false }
    }

    @Test func aFlappingServerWhileFourProcessesEnqueueLosesNothingAndAppliesNothingTwice() throws {
        let watcher = try WatchProcess(
            [
                "--cache-dir", cache.path, "--server", server.url.absoluteString, "--token-file", tokenFile.path,
                "--max-backoff", "2s",
            ], environment: [:])
        let started = Date()
        #expect(
            Wait.until { WatchState.load(paths)?.online == true && WatchState.load(paths)?.feed == "stream" },
            "\(watcher.output)")
        let ids = Locked<[String]>()
        let done = Locked<Bool>()
        let cachePath = cache
        let enqueuers = Thread {
            runConcurrently(Self.enqueuers) { worker in
                for index in stride(from: worker, to: Self.enqueuers * Self.perEnqueuer, by: Self.enqueuers) {
                    if done.isSet { break }
                    let id = try? WatchTests.enqueueReview(Stress.extraItem(index), cache: cachePath)
                    if let id, !id.isEmpty { ids.update { $0.append(id) } }
                    usleep(UInt32.random(in: 100_000...500_000))
                }
            }
            done.set(true)
        }
        enqueuers.start()
        var warmedUp: Int?
        var modes: [String: Int] = [:]
        for _ in 0..<Self.cycles {
            let mode = Bool.random() ? "refuse" : "reset"
            modes[mode, default: 0] += 1
            let down = Double.random(in: 0.2...2.0)
            try server.admin("admin/offline", ["seconds": .double(down), "mode": .string(mode)])
            usleep(UInt32((down + Double.random(in: 0.2...2.0)) * 1e6))
            #expect(waitUntilBack(), "the server did not come back")
            if warmedUp == nil, Date().timeIntervalSince(started) >= Self.warmUp {
                warmedUp = Self.residentKilobytes(watcher.pid)
            }
        }
        done.set(true)
        #expect(Wait.until(timeout: 120) { enqueuers.isFinished })
        #expect(
            Wait.until(timeout: 180) { try WriteQueue(paths: paths).readablePending().isEmpty }, "\(watcher.output)")
        #expect(watcher.process.isRunning, "the watcher stopped: \(watcher.output)")
        let atEnd = Self.residentKilobytes(watcher.pid)

        let enqueued = ids.value ?? []
        let applied = try server.appliedCounts()
        let (pending, failed) = try Stress.queuedIds(cache)
        for id in enqueued {
            // Applied once, or still queued and never applied: a transient failure (8 allowed) never moves it.
            let once = applied[id] == 1 && !pending.contains(id)
            let queued = pending.contains(id) && (applied[id] ?? 0) == 0
            #expect(once || queued, "\(id) applied \(applied[id] ?? 0) times, queued: \(pending.contains(id))")
        }
        #expect(failed.isDisjoint(with: enqueued), "writes moved to failed/: \(failed.intersection(enqueued))")
        #expect(applied.values.allSatisfy { $0 <= 1 }, "a write applied twice")
        #expect(Set(enqueued).count == enqueued.count)
        #expect(enqueued.count >= Self.enqueuers, "the enqueuers queued \(enqueued.count) writes")
        if let warmedUp, let atEnd {
            #expect(
                Double(atEnd) <= Double(warmedUp) * 1.1,
                "the watcher's RSS grew from \(warmedUp) kB after the first minute to \(atEnd) kB")
        }
        let appliedOnce = enqueued.filter { applied[$0] == 1 }.count
        let memory =
            warmedUp.map { "RSS \(String(format: "%.1f", Double($0) / 1024)) MB after 1 min, " } ?? "RSS "
        Stress.record(
            "watch/flapping",
            "\(Self.cycles) down/up cycles (\(modes["refuse"] ?? 0) refuse, \(modes["reset"] ?? 0) reset) in "
                + "\(Int(Date().timeIntervalSince(started))) s; \(enqueued.count) writes by \(Self.enqueuers) "
                + "enqueuers: \(appliedOnce) applied once, \(pending.count) queued, \(failed.intersection(enqueued).count) failed, "
                + "\(applied.values.filter { $0 > 1 }.count) applied twice; \(memory)"
                + "\(atEnd.map { String(format: "%.1f", Double($0) / 1024) } ?? "?") MB at the end")
        watcher.signal(SIGTERM)
        #expect(watcher.waitForExit() == 0)
    }
}
