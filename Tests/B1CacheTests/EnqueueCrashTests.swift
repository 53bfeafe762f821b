import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class EnqueueCrashTests {
    let folder = TemporaryFolder()
    /// Extra open items, one per write: nothing may be queued after a pending apply of the same item.
    lazy var cache: URL = (try? Stress.seed(withExtraItems: 201, at: folder.path("cache"))) ?? folder.path("cache")
    lazy var queue = WriteQueue(paths: CachePaths(root: cache))

    func applyPayload(tag: String, item: Int) -> String {
        #"{"itemIds":["\#(Stress.extraItem(item))"],"mapping":{"contractId":"\#(Sample.mappingContract)","note":"\#(tag)"}}"#
    }

    @Test func writesEnqueuedByFourProcessesAtOnceAllParseHaveUniqueIdsAndKeepEachProcesssOrder() throws {
        let cachePath = cache.path
        let failures = Locked<[String]>()
        let payloads = (0..<4).map { process in
            (0..<25).map { applyPayload(tag: "p\(process)-\(String(format: "%02d", $0))", item: process * 25 + $0) }
        }
        runConcurrently(4) { process in
            for payload in payloads[process] {
                let result = try? CommandRunner.b1cache([
                    "enqueue", "missed-billing.apply", "--payload", payload,
                    "--cache-dir", cachePath,
                ])
                if result?.status != 0 { failures.set((failures.value ?? []) + [result?.errorOutput ?? "did not run"]) }
            }
        }
        #expect(failures.value == nil)
        let writes = try queue.list(.pending)
        #expect(writes.allSatisfy { $0.write != nil })
        let tagged = writes.compactMap(\.write).filter { $0.payload["mapping"]?["note"] != nil }
        #expect(tagged.count == 100)
        #expect(Set(writes.compactMap(\.write?.id)).count == writes.count)
        for process in 0..<4 {
            let tags = tagged.compactMap { $0.payload["mapping"]?["note"]?.stringValue }.filter {
                $0.hasPrefix("p\(process)-")
            }
            #expect(tags == tags.sorted() && tags.count == 25, "process \(process): \(tags)")
        }
    }

    @Test func sigkillAtRandomMomentsNeverLeavesAPartialWriteFile() throws {
        let rounds = Stress.count(short: 200, long: 1000, override: "B1CACHE_KILL_ROUNDS")
        var checks = 0
        let batch = folder.path("batch.jsonl")
        var generator = SystemRandomNumberGenerator()
        var orphansSeen = 0, completed = 0
        for round in 1...rounds {
            // Items of their own for each round until the queue is emptied (every 25 rounds).
            let lines = (0..<8).map { number in
                #"{"kind":"missed-billing.apply","payload":\#(applyPayload(tag: "k\(number)", item: (round - 1) % 25 * 8 + number))}"#
            }
            try Data(lines.joined(separator: "\n").utf8).write(to: batch)
            let process = Process()
            process.executableURL = CommandRunner.binary
            process.arguments = ["enqueue", "--batch", batch.path, "--cache-dir", cache.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.runWithTimeLimit()
            usleep(UInt32.random(in: 0...40_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            if process.terminationReason == .exit { completed += 1 }
            // Every write file a reader can see is whole.
            for listed in try queue.list(.pending) {
                #expect(listed.write != nil, "round \(round): \(listed.problem?.description ?? "")")
            }
            let staging =
                (try? FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("queue/.tmp").path))
                ?? []
            orphansSeen += staging.count
            if round % 25 == 0 {
                // The next run sweeps the orphans; then verify finds nothing wrong.
                let next = try CommandRunner.b1cache([
                    "enqueue", "missed-billing.apply", "--payload", applyPayload(tag: "next", item: 200),
                    "--cache-dir", cache.path,
                ])
                #expect(next.status == 0, "\(next.errorOutput)")
                let verify = try CommandRunner.b1cache(["verify", "--cache-dir", cache.path])
                #expect(verify.status == 0, "round \(round): \(verify.output)")
                checks += 1
                for entry in try queue.pendingEntries() { try FileManager.default.removeItem(at: entry.url) }
            }
        }
        Stress.record(
            "crash/enqueue",
            "\(rounds) SIGKILLs of enqueue --batch (\(completed) finished first), \(orphansSeen) staging "
                + "orphans seen, every queue file whole after each, verify clean at \(checks) checkpoints")
    }
}
