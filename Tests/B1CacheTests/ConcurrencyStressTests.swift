import B1Cache
import Foundation
import Testing

/// 8 enqueuers, 4 flushers and a syncer on one cache for a while (6 s in `make test`, 60 s in `make stress`):
/// every write enqueued is applied exactly once or still queued, and the lock never had two holders.
@Suite(.perTestTimeLimit) final class ConcurrencyStressTests {
    let folder = TemporaryFolder()
    let cache: URL
    let server: ReferenceServer
    static let seconds = Double(Stress.count(short: 6, long: 60, override: "B1CACHE_CONCURRENCY_SECONDS"))
    /// Writes each enqueuer may queue at most (each to an item of its own, so none coalesce).
    static let perEnqueuer = Stress.isLong ? 400 : 100

    init() throws {
        let seed = try Stress.seed(withExtraItems: 8 * Self.perEnqueuer, at: folder.path("seed"))
        cache = folder.path("cache")
        try FileManager.default.copyItem(at: seed, to: cache)
        server = try ReferenceServer(seed: seed, database: folder.path("server.db"))
    }

    @Test func enqueuersFlushersAndASyncerTogetherLoseNothingAndNeverShareTheLock() throws {
        let log = folder.path("lock.log")
        var environment = server.environment()
        environment["B1CACHE_LOCK_LOG"] = log.path
        let deadline = Date().addingTimeInterval(Self.seconds)
        let cachePath = cache.path
        let enqueued = Locked<[Int: [String]]>()
        let unexpected = Locked<[String]>()
        let runs = Locked<[String: Int]>()
        @Sendable func note(_ role: String, _ result: CommandResult?, allowed: Set<Int32>) {
            runs.update { $0["\(role) exit \(result?.status ?? -1)", default: 0] += 1 }
            if let result, allowed.contains(result.status) { return }
            unexpected.update { $0.append("\(role): \(result?.status ?? -1) \(result?.errorOutput ?? "did not run")") }
        }
        let environmentCopy = environment
        runConcurrently(13) { worker in
            var index = 0
            while Date() < deadline {
                switch worker {
                case 0..<8:
                    guard index < Self.perEnqueuer else { return }
                    let item = Stress.extraItem(worker * Self.perEnqueuer + index)
                    index += 1
                    let payload = #"{"itemIds":["\#(item)"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#
                    let result = try? CommandRunner.b1cache(
                        [
                            "enqueue", "missed-billing.apply", "--payload", payload, "--json",
                            "--cache-dir", cachePath,
                        ], environment: environmentCopy)
                    note("enqueue", result, allowed: [0])
                    if let id = result.flatMap({ try? JSONParser.parse($0.output)["id"]?.stringValue }) {
                        enqueued.update { $0[worker, default: []].append(id) }
                    }
                case 8..<12:
                    note(
                        "flush",
                        try? CommandRunner.b1cache(
                            ["flush", "--ignore-backoff", "--cache-dir", cachePath], environment: environmentCopy),
                        allowed: [0, 3, 6])
                default:
                    note(
                        "sync",
                        try? CommandRunner.b1cache(["sync", "--cache-dir", cachePath], environment: environmentCopy),
                        allowed: [0, 3, 6])
                }
            }
        }
        #expect(unexpected.value == nil, "\(unexpected.value ?? [])")
        let last = try CommandRunner.b1cache(
            ["flush", "--ignore-backoff", "--wait", "--cache-dir", cachePath], environment: environment)
        #expect(last.status == 0, "\(last.output)\(last.errorOutput)")
        let ids = (enqueued.value ?? [:]).values.flatMap { $0 }
        let applied = try server.appliedCounts()
        let once = ids.filter { applied[$0] == 1 }
        #expect(
            once.count == ids.count, "\(ids.filter { applied[$0] != 1 }.map { "\($0) applied \(applied[$0] ?? 0)×" })")
        let left = try Stress.queuedIds(cache)
        #expect(left.pending.isEmpty && left.failed.isDisjoint(with: ids))  // (the sample's own failed write stays)

        // The lock's log: strictly alternating acquire/release of the same process, in clock order.
        let marks = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        let ordered = marks.sorted { (UInt64($0.last ?? "") ?? 0) < (UInt64($1.last ?? "") ?? 0) }
        var overlaps = 0
        for (index, mark) in ordered.enumerated() {
            let expected = index % 2 == 0 ? "acquire" : "release"
            if mark.first.map(String.init) != expected { overlaps += 1 }
            if index % 2 == 1 && mark.dropFirst().first != ordered[index - 1].dropFirst().first { overlaps += 1 }
        }
        #expect(overlaps == 0, "\(ordered.prefix(40))")
        #expect(try CommandRunner.b1cache(["verify", "--cache-dir", cachePath]).status == 0)
        let counts = (runs.value ?? [:]).sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(
            separator: ", ")
        Stress.record(
            "concurrency",
            "\(Int(Self.seconds)) s of 8 enqueuers, 4 flushers, 1 syncer (\(counts)); \(once.count) of \(ids.count) writes "
                + "applied exactly once; \(ordered.count / 2) lock holdings, \(overlaps) overlaps")
    }
}
