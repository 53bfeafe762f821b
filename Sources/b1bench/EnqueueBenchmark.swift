import B1Cache
import Foundation

/// `enqueue CACHE WRITES [--count N] [--batch] [--repeat K]`: durable enqueues through the library.
///
/// Copies CACHE to a fresh sibling folder (same filesystem), then queues the first N lines of WRITES (JSON lines
/// of `{kind, payload}`, as `b1cache enqueue --batch` reads them) with one `Enqueuer`, as a long-running app would:
/// - single (default): `enqueue` once per write, so each write pays its own file fsync and `queue/` fsync;
/// - `--batch`: one `enqueueBatch` of all N (every write validated first, one fsync of `queue/`).
///
/// The time covers the `Enqueuer`'s whole life: reading the target envelopes for validation, listing the queue,
/// naming, encoding and the durable writes. The copy is removed afterwards. The run fails if a write superseded
/// another (docs/WRITES.md §5) or the queue does not end up with N more files: the figure must be N durable
/// writes, not fewer.
enum EnqueueBenchmark: Benchmark {
    static let name = "enqueue"
    static let synopsis = "CACHE WRITES [--count N] [--batch] [--repeat K]"
    static let summary = "N durable enqueues (one by one, or --batch) into a copy of CACHE, best of K runs (default 1)"

    static func run(_ arguments: [String]) throws -> [(key: String, value: String)] {
        let parsed = try BenchArguments(arguments, options: ["--count", "--repeat"], flags: ["--batch"])
        guard parsed.positionals.count == 2 else { throw BenchError.usage("enqueue takes CACHE and WRITES") }
        let cache = URL(fileURLWithPath: parsed.positionals[0]).standardizedFileURL
        let writesFile = URL(fileURLWithPath: parsed.positionals[1])
        var requests = try readRequests(writesFile)
        if let count = try parsed.positiveInteger("--count") {
            guard count <= requests.count else {
                throw BenchError.usage("--count \(count) is more than the \(requests.count) writes in the file")
            }
            requests = Array(requests.prefix(count))
        }
        let repetitions = try parsed.positiveInteger("--repeat") ?? 1
        let batch = parsed.has("--batch")

        var best: Run?
        for _ in 0..<repetitions {
            let run = try measure(requests, into: cache, batch: batch)
            if best.map({ run.total < $0.total }) ?? true { best = run }
        }
        guard let best else { throw BenchError.usage("--repeat needs a positive integer") }
        var result: [(key: String, value: String)] = [
            ("ops_s", perSecond(requests.count, best.total)),
            ("seconds", seconds(best.total)),
            ("count", String(requests.count)),
            ("bytes", String(best.bytes / requests.count)),
            ("mode", batch ? "batch" : "single"),
            ("repeat", String(repetitions)),
        ]
        if !batch {
            // The rate at the start and at the end of the run: each enqueue lists queue/, so a cost that grows
            // with the queue shows up here.
            result += [
                ("first_tenth_ops_s", perSecond(best.firstTenth.count, best.firstTenth.duration)),
                ("last_tenth_ops_s", perSecond(best.lastTenth.count, best.lastTenth.duration)),
            ]
        }
        return result
    }

    private struct Run {
        var total: Duration
        var bytes: Int
        var firstTenth: (count: Int, duration: Duration)
        var lastTenth: (count: Int, duration: Duration)
    }

    private static func measure(_ requests: [WriteRequest], into cache: URL, batch: Bool) throws -> Run {
        let processID = ProcessInfo.processInfo.processIdentifier
        let copy = cache.deletingLastPathComponent()
            .appendingPathComponent(".\(cache.lastPathComponent).b1bench-enqueue-\(processID)")
        try? FileManager.default.removeItem(at: copy)
        do { try FileManager.default.copyItem(at: cache, to: copy) } catch {
            throw BenchError.file(
                path: cache.path,
                reason: "cannot be copied to \(copy.path) (\(error.localizedDescription))")
        }
        defer { try? FileManager.default.removeItem(at: copy) }
        let paths = CachePaths(root: copy)
        let before = try WriteQueue(paths: paths).pendingEntries().count

        let clock = ContinuousClock()
        let tenth = max(1, requests.count / 10)
        var stamps: [ContinuousClock.Instant] = []
        stamps.reserveCapacity(requests.count + 1)
        var results: [EnqueueResult] = []
        stamps.append(clock.now)
        let enqueuer = Enqueuer(paths: paths)
        if batch {
            results = try enqueuer.enqueueBatch(requests)
            stamps.append(clock.now)
        } else {
            for request in requests {
                results.append(try enqueuer.enqueue(request))
                stamps.append(clock.now)
            }
        }
        let total = stamps[stamps.count - 1] - stamps[0]

        let replaced = results.filter { !$0.replaced.isEmpty }.count
        let entries = try WriteQueue(paths: paths).pendingEntries()
        guard replaced == 0, results.count == requests.count, entries.count == before + requests.count else {
            throw BenchError.file(
                path: copy.path,
                reason: "\(requests.count) enqueues left \(entries.count - before) new queue files "
                    + "(\(replaced) replaced another): give writes that do not coalesce")
        }
        let bytes = try results.reduce(0) { sum, result in
            let attributes = try FileManager.default.attributesOfItem(atPath: paths.queued(result.fileName).path)
            return sum + (attributes[.size] as? Int ?? 0)
        }
        let count = stamps.count - 1
        return Run(
            total: total, bytes: bytes,
            firstTenth: (min(tenth, count), stamps[min(tenth, count)] - stamps[0]),
            lastTenth: (min(tenth, count), stamps[count] - stamps[max(0, count - tenth)]))
    }

    /// The writes of a JSON-lines file, read by the library as `b1cache enqueue --batch` reads them.
    private static func readRequests(_ file: URL) throws -> [WriteRequest] {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw BenchError.file(path: file.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let requests: [WriteRequest]
        do { requests = try WriteBatch.parse(data).requests.map(\.request) } catch {
            throw BenchError.file(path: file.path, reason: "\(error)")
        }
        guard !requests.isEmpty else { throw BenchError.file(path: file.path, reason: "holds no writes") }
        return requests
    }
}

func perSecond(_ count: Int, _ duration: Duration) -> String {
    let elapsed = duration.secondsValue
    return elapsed > 0 ? String(format: "%.1f", Double(count) / elapsed) : "inf"
}
