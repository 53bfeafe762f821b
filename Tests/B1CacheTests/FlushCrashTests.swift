import B1Cache
import Foundation
import Testing

/// Crash safety and exclusion of flush, against the real reference server and real processes.
@Suite final class FlushCrashTests {
    let folder = TemporaryFolder()
    let cache: URL
    lazy var queue = WriteQueue(paths: CachePaths(root: cache))
    let server: ReferenceServer

    /// SampleCache plus 250 open missed-billing items `mb_t000`…, so each test write has a target of its own; the
    /// cache and the server start from the same data.
    init() throws {
        let seed = try Repository.copySampleCache(to: folder.path("seed"))
        let store = CacheStore(paths: CachePaths(root: seed))
        var envelope = try #require(try store.envelope(for: .missedBilling))
        let template = try #require(envelope.item(id: Sample.openItem)?.objectValue)
        for index in 0..<250 {
            var item = template
            item["id"] = .string(String(format: "mb_t%03d", index))
            envelope.items.append(.object(item))
        }
        try store.replaceEnvelope(envelope)
        cache = folder.path("cache")
        try FileManager.default.copyItem(at: seed, to: cache)
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
    }

    /// Queues `count` applies, each of its own `mb_t…` item (applies never coalesce), and returns their ids.
    func enqueue(_ count: Int) throws -> [String] {
        let lines = (0..<count).map { index in
            #"{"kind":"missed-billing.apply","payload":{"itemIds":["\#(String(format: "mb_t%03d", index))"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}}"#
        }
        let batch = folder.path("batch-\(UUID().uuidString).jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: batch)
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
        try process.run()
        return process
    }

    @Test func sigkillOfTheFlusherAtRandomMomentsNeverLosesOrDoublesAWrite() throws {
        let ids = try enqueue(200) + queue.readablePending().map(\.id)
        try server.admin("admin/faults", ["latencyMs": 40])
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let process = try flushProcess(["--batch-size", "10"])
            usleep(UInt32.random(in: 20_000...300_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try server.admin("admin/faults", [:])
        // --wait: a SIGKILL between the lock's mkdir and its owner.json leaves a lock without owner, which counts as
        // fresh for the grace period (SPEC §6); without it this flush exits 6 in about one run of three.
        let last = try CommandRunner.b1cache(["flush", "--ignore-backoff", "--wait", "--cache-dir", cache.path],
                                             environment: server.environment())
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id) applied \(applied[id] ?? 0) times") }
        #expect(try queue.pendingEntries().isEmpty)
    }

    @Test func fourFlushersAtOnceApplyEachWriteExactlyOnceAndEachExits0Or6() throws {
        let ids = try enqueue(200) + queue.readablePending().map(\.id)
        try server.admin("admin/faults", ["latencyMs": 20])
        let processes = try (0..<4).map { _ in try flushProcess(["--batch-size", "20"]) }
        for process in processes { process.waitUntilExit() }
        #expect(processes.allSatisfy { [0, 6].contains($0.terminationStatus) }, "\(processes.map(\.terminationStatus))")
        let last = try CommandRunner.b1cache(["flush", "--ignore-backoff", "--cache-dir", cache.path], environment: server.environment())
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
        while !FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock/owner.json").path) { usleep(5000) }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock").path))
        try server.admin("admin/faults", ["latencyMs": 5])
        let log = folder.path("lock.log")
        let processes = try (0..<16).map { _ in try flushProcess(["--wait"], log: log) }
        for process in processes { process.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "\(processes.map(\.terminationStatus))")
        let marks = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ")[0] }
        #expect(marks.count == 32)
        for (index, mark) in marks.enumerated() { #expect(mark == (index % 2 == 0 ? "acquire" : "release"), "\(marks)") }
        #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent("flush.lock").path))
    }
}
