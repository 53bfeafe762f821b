import B1Cache
import Foundation
import Testing

/// The reliability scenarios run short inside `make test` and long under `make stress`
/// (`B1CACHE_STRESS=long`), where each also appends one summary line to `$B1CACHE_STRESS_REPORT`.
enum Stress {
    static let environment = ProcessInfo.processInfo.environment
    static var isLong: Bool { environment["B1CACHE_STRESS"] == "long" }

    /// `short` in `make test`, `long` under `make stress`; `override` names an environment variable that wins.
    static func count(short: Int, long: Int, override: String? = nil) -> Int {
        if let override, let value = environment[override].flatMap(Int.init), value > 0 { return value }
        return isLong ? long : short
    }

    /// Prints a scenario's figures and, under `make stress`, appends them to the report.
    static func record(_ scenario: String, _ figures: String) {
        let line = "\(scenario): \(figures)"
        print(line)
        guard let report = environment["B1CACHE_STRESS_REPORT"], !report.isEmpty else { return }
        if let handle = FileHandle(forWritingAtPath: report)
            ?? {
                FileManager.default.createFile(atPath: report, contents: nil)
                return FileHandle(forWritingAtPath: report)
            }()
        {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            try? handle.close()
        }
    }

    /// A copy of SampleCache with `count` extra open missed-billing items `mb_t00000`…, so that each test write
    /// can have a target of its own (applies to distinct items never coalesce).
    static func seed(withExtraItems count: Int, at destination: URL) throws -> URL {
        let seed = try Repository.copySampleCache(to: destination)
        let store = CacheStore(paths: CachePaths(root: seed))
        var envelope = try #require(try store.envelope(for: .missedBilling))
        let template = try #require(envelope.item(id: Sample.openItem)?.objectValue)
        for index in 0..<count {
            var item = template
            item["id"] = .string(extraItem(index))
            envelope.items.append(.object(item))
        }
        try store.replaceEnvelope(envelope)
        return seed
    }

    static func extraItem(_ index: Int) -> String { String(format: "mb_t%05d", index) }

    /// JSON lines for `enqueue --batch`: one apply per extra item in `range`.
    static func applyBatch(_ range: Range<Int>) -> String {
        range.map { index in
            #"{"kind":"missed-billing.apply","payload":{"itemIds":["\#(extraItem(index))"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}}"#
        }.joined(separator: "\n")
    }

    /// Starts `b1cache` in the background, output discarded.
    static func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = CommandRunner.binary
        process.arguments = arguments
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runWithTimeLimit()
        return process
    }

    /// Files a reader could not parse: what a crash must never leave. Stale locks, temp orphans, a manifest one
    /// write behind its envelope and a torn queue index are what a crash may leave, and the next run or
    /// `verify --repair` mends them.
    static func unparsable(_ cache: URL) throws -> [String] {
        let problems = try Verifier(paths: CachePaths(root: cache), repair: false).run()
        return problems.filter { ![.strayTemp, .staleLock, .manifestMismatch, .staleQueueIndex].contains($0.kind) }
            .map { "\($0.kind.rawValue) \($0.path): \($0.detail)" }
    }

    /// The extra items (`ids[i]` applies `mb_t…i`) whose write is no longer queued but whose cached state is not the
    /// server's: a write file may go only once the server's answer is in the envelope, or the cache would show the
    /// old state with nothing left to correct it until the next sync.
    static func answeredButNotCached(_ ids: [String], cache: URL, server: ReferenceServer) throws -> [String] {
        let pending = try queuedIds(cache).pending
        func byId(_ items: [JSONValue]) -> [String: String] {
            Dictionary(
                items.compactMap { item in item["id"]?.stringValue.map { ($0, JSONWriter.compactString(item)) } },
                uniquingKeysWith: { first, _ in first })
        }
        let cached = byId(try CacheStore(paths: CachePaths(root: cache)).envelope(for: .missedBilling)?.items ?? [])
        let served = byId(try server.items("missed-billing"))
        return ids.enumerated().filter { !pending.contains($0.element) }.map { extraItem($0.offset) }
            .filter { cached[$0] == nil || cached[$0] != served[$0] }
    }

    /// Ids of the writes in `queue/` and in `failed/`.
    static func queuedIds(_ cache: URL) throws -> (pending: Set<String>, failed: Set<String>) {
        let queue = WriteQueue(paths: CachePaths(root: cache))
        return (
            Set(try queue.list(.pending).compactMap(\.write?.id)), Set(try queue.list(.failed).compactMap(\.write?.id))
        )
    }
}
