import B1Cache
import Foundation
import Testing

/// Crash safety and exclusion of flush, against the real reference server and real processes.
@Suite(.perTestTimeLimit) final class FlushCrashTests {
    let folder = TemporaryFolder()
    let cache: URL
    lazy var queue = WriteQueue(paths: CachePaths(root: cache))
    let server: ReferenceServer

    /// Each round kills a flush 20–150 ms in, about one batch of 10 at 40 ms latency: 10 writes a round keep
    /// the queue from running dry before the last round.
    static let killRounds = Stress.count(short: 20, long: 200, override: "B1CACHE_FLUSH_KILL_ROUNDS")

    init() throws {
        let seed = try Stress.seed(withExtraItems: max(250, Self.killRounds * 10), at: folder.path("seed"))
        cache = folder.path("cache")
        try FileManager.default.copyItem(at: seed, to: cache)
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
    }

    /// Queues `count` applies, each of its own `mb_t…` item (applies never coalesce), and returns their ids.
    func enqueue(_ count: Int) throws -> [String] {
        let batch = folder.path("batch-\(UUID().uuidString).jsonl")
        try Data(Stress.applyBatch(0..<count).utf8).write(to: batch)
        let result = try CommandRunner.b1cache(["enqueue", "--batch", batch.path, "--json", "--cache-dir", cache.path])
        #expect(result.status == 0, "\(result.errorOutput)")
        return try result.lines.map { try JSONParser.parse($0)["id"]?.stringValue ?? "" }
    }

    func flushProcess(_ extra: [String] = [], log: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = CommandRunner.binary
        process.arguments = ["flush", "--ignore-backoff", "--cache-dir", cache.path] + extra
        var environment = server.environment()
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        if let log { environment["B1CACHE_LOCK_LOG"] = log.path }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runWithTimeLimit()
        return process
    }

    func itemsWhoseWriteLeftTheQueueButNotTheServersStateInTheCache(_ ids: [String]) throws -> [String] {
        try Stress.answeredButNotCached(ids, cache: cache, server: server)
    }

    @Test func sigkillOfTheFlusherAtRandomMomentsNeverLosesOrDoublesAWrite() throws {
        let rounds = Self.killRounds
        let ids = try enqueue(rounds * 10) + queue.readablePending().map(\.id)
        try server.admin("admin/faults", ["latencyMs": 40])
        var generator = SystemRandomNumberGenerator()
        var killedMidway = 0
        for _ in 0..<rounds {
            let process = try flushProcess(["--batch-size", "10"])
            usleep(UInt32.random(in: 20_000...150_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            if process.terminationReason == .uncaughtSignal { killedMidway += 1 }
            #expect(try Stress.unparsable(cache).isEmpty)
            #expect(
                try itemsWhoseWriteLeftTheQueueButNotTheServersStateInTheCache(Array(ids.prefix(rounds * 10))) == [])
        }
        try server.admin("admin/faults", [:])
        // --wait: a flusher killed between its mkdir of the lock and its owner.json leaves a lock that counts as
        // fresh for the grace period (SPEC §6); on a loaded machine (slow fsyncs) the kill lands there often.
        let last = try CommandRunner.b1cache(
            ["flush", "--ignore-backoff", "--wait", "--cache-dir", cache.path],
            environment: server.environment())
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id) applied \(applied[id] ?? 0) times") }
        #expect(try queue.pendingEntries().isEmpty)
        Stress.record(
            "crash/flush",
            "\(rounds) SIGKILLs (\(killedMidway) mid-flush) over \(ids.count) writes under 40 ms latency; "
                + "\(ids.filter { applied[$0] == 1 }.count) applied exactly once, \(ids.filter { applied[$0] != 1 }.count) problems"
        )
    }

    @Test func fourFlushersAtOnceApplyEachWriteExactlyOnceAndEachExits0Or6() throws {
        let ids = try enqueue(200) + queue.readablePending().map(\.id)
        try server.admin("admin/faults", ["latencyMs": 20])
        let processes = try (0..<4).map { _ in try flushProcess(["--batch-size", "20"]) }
        for process in processes { process.waitForExit() }
        #expect(
            processes.allSatisfy { [0, 6].contains($0.terminationStatus) }, "\(processes.map(\.terminationStatus))")
        let last = try CommandRunner.b1cache(
            ["flush", "--ignore-backoff", "--wait", "--cache-dir", cache.path], environment: server.environment())
        #expect(last.status == 0)
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1) }
    }

    @Test func aLockLeftBySixteenProcessesWorthOfContentionHasOneHolderAtATime() throws {
        // A stale lock as a SIGKILLed flusher leaves it: the owner's process is gone.
        _ = try enqueue(5)
        try FileManager.default.removeItem(at: cache.appendingPathComponent("failed"))
        try server.admin("admin/faults", ["latencyMs": 300])
        let victim = try flushProcess()
        while !FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock/owner.json").path) {
            usleep(5000)
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitForExit()
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock").path))
        try server.admin("admin/faults", ["latencyMs": 5])
        let log = folder.path("lock.log")
        let processes = try (0..<16).map { _ in try flushProcess(["--wait"], log: log) }
        for process in processes { process.waitForExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "\(processes.map(\.terminationStatus))")
        let marks = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: " ")[0]
        }
        #expect(marks.count == 32)
        for (index, mark) in marks.enumerated() {
            #expect(mark == (index % 2 == 0 ? "acquire" : "release"), "\(marks)")
        }
        #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock").path))
    }
}
