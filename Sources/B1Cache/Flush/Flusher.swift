import Foundation

/// Why a flush could not run at all.
public enum FlushError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server could not be reached before anything was sent; nothing changed.
    case offline(reason: String)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .offline(let reason): "offline: \(reason); the queue is kept and nothing was lost"
        }
    }

    /// What to do next.
    public var hint: String {
        "run the same command again when the network is back (flush and sync resume where they stopped)"
    }
}

/// How a flush behaves.
public struct FlushOptions: Sendable {
    /// Send at most this many writes.
    public var maximumWrites: Int?
    /// Send writes whose `nextAttemptAt` is still in the future.
    public var ignoreBackoff = false
    /// Writes per batch request (≤ 100).
    public var batchSize = ServerClient.batchLimit
    /// After this many transient failures a write moves to `failed/`.
    public var maximumAttempts = 8

    /// Options with the defaults (batches of 100, 8 attempts before a write moves to `failed/`).
    public init(maximumWrites: Int? = nil, ignoreBackoff: Bool = false) {
        self.maximumWrites = maximumWrites
        self.ignoreBackoff = ignoreBackoff
    }
}

/// What a flush did.
public struct FlushReport: Sendable, Equatable {
    /// Ids the server acknowledged (applied now or before), in the order sent; their files are gone.
    public var applied: [String] = []
    /// Of `applied`, the ids the server had already applied before this flush.
    public var duplicates: [String] = []
    /// Ids moved to `failed/` (rejected, or attempts exhausted).
    public var movedToFailed: [String] = []
    /// Why each write in `movedToFailed` failed (the server's rejection, or the last transient error).
    public var failureReasons: [String: String] = [:]
    /// The write that stopped the flush and why (transient failure or backoff).
    public var stoppedAt: (id: String, reason: String)?
    /// True when the flush stopped because a request failed (no answer, an error status, or an answer that breaks
    /// the protocol), false when it stopped at a write still waiting for its backoff.
    public var stoppedByFailure = false
    /// Write files still in `queue/` when the flush ended.
    public var remaining = 0
    /// File names in `queue/` that could not be read, so were not sent.
    public var unreadable: [String] = []
    /// HTTP requests made for writes (batches or single writes).
    public var requests = 0

    /// True when the queue was drained and nothing failed.
    public var isComplete: Bool { remaining == 0 && movedToFailed.isEmpty && unreadable.isEmpty }

    /// Equal in what was applied, failed, left and where it stopped (not timings or request counts).
    public static func == (lhs: FlushReport, rhs: FlushReport) -> Bool {
        lhs.applied == rhs.applied && lhs.movedToFailed == rhs.movedToFailed && lhs.remaining == rhs.remaining
            && lhs.stoppedAt?.id == rhs.stoppedAt?.id
    }
}

/// Drains `queue/` to the server in file-name order (SPEC §7). Run it under the cache lock.
///
/// Order and exactly-once rules enforced here: writes go out in batches in queue order with their id as the
/// idempotency key; the server's entities are written into the envelopes *before* a write file is removed, so a
/// crash at any point leaves the write queued and re-sending it is answered as a duplicate; the first transient
/// failure stops the flush so no later write overtakes an earlier one. Answers are merged in memory batch by batch
/// and committed at checkpoints (`checkpointRatio`), so the envelope rewrites cost O(writes) over a flush.
public struct Flusher: Sendable {
    /// The cache being flushed.
    public let paths: CachePaths
    /// The server the writes go to.
    public let client: ServerClient
    /// How much to send and how.
    public var options: FlushOptions
    /// Called after each batch with (writes done, writes to do).
    public var progress: (@Sendable (Int, Int) -> Void)?

    /// A flusher of the cache at `paths`; `progress` is called after each batch with (done, to do).
    public init(
        paths: CachePaths, client: ServerClient, options: FlushOptions = FlushOptions(),
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) {
        self.paths = paths
        self.client = client
        self.options = options
        self.progress = progress
    }

    /// - Throws: `FlushError.offline`, `ServerError.unauthorized` (nothing marked), `ServerError.otherAccount`;
    ///   `ServerError.invalidAnswer` or `TransportError.answerTooLarge` when the session answer breaks the protocol
    ///   (nothing sent).
    public func run(now: Date = Date()) async throws -> FlushReport {
        var report = FlushReport()
        try CacheRoot.prepare(paths)
        let queue = WriteQueue(paths: paths)
        let listed = try queue.list(.pending)
        do { _ = try await client.claim(paths, pending: listed.compactMap(\.write)) } catch let error as TransportError
            where error.isOffline
        {
            throw FlushError.offline(reason: error.description)
        }
        let plan = FlushPlan(listed, options: options, now: now)
        report.unreadable = plan.unreadable
        if let held = plan.heldBack {
            report.stoppedAt = (held.write.id, "waiting until \(Timestamp.string(held.until)) (backoff)")
        }
        let eligible = plan.writes
        let total = eligible.count
        let loaded = LoadedEnvelopes(store: CacheStore(paths: paths))
        // Answers not yet committed: merged into `loaded`, their write files still queued (see `checkpointDue`).
        var uncommitted = BatchResolution()
        var done = 0
        var position = 0
        progress?(0, total)
        do {
            while position < eligible.count {
                let batch = Array(eligible[position..<min(position + options.batchSize, eligible.count)])
                let outcomes = try await send(batch.map(\.write), report: &report)
                let resolved = resolve(batch, outcomes, report: &report, now: now)
                try resolved.merge(into: loaded)
                uncommitted.append(resolved)
                if resolved.needsCommitNow || checkpointDue(uncommitted.successes.count, loaded) {
                    try commit(uncommitted, envelopes: loaded, report: &report, now: now)
                    uncommitted = BatchResolution()
                }
                let processed = resolved.successes.count + resolved.failures.count
                done += processed
                progress?(done, total)
                if resolved.retryLater != nil { break }
                if processed == 0 {
                    report.stoppedAt = (batch[0].write.id, "the server did not attempt it")
                    report.stoppedByFailure = true
                    break
                }
                // Writes the server did not attempt (after one that moved to failed/) go in the next batch.
                position += processed
            }
            try commit(uncommitted, envelopes: loaded, report: &report, now: now)
        } catch {
            // What the server answered before the error is still committed when the disk allows; if it does not,
            // those writes stay queued and the next flush gets duplicates for them.
            if !uncommitted.successes.isEmpty { try? commit(uncommitted, envelopes: loaded, report: &report, now: now) }
            throw error
        }
        // The queue index again, from what this flush read and the files queued meanwhile.
        let known = Dictionary(listed.compactMap { item in item.write.map { (item.entry.fileName, $0) } }) { a, _ in a }
        report.remaining = try QueueIndex.changing(paths, known: known) {}.pending.count
        return report
    }

    /// The writes before the first checkpoint rewrite the envelopes only once the answers waiting for it number
    /// at least 1 / `checkpointRatio` of the items the rewrite writes: each write then costs at most
    /// `checkpointRatio` items of rewriting, whatever the collection's size, and a flush of N writes O(N) in all
    /// (docs/WRITES.md, "How flush commits"). A small collection is still written after every batch.
    static let checkpointRatio = 4

    private func checkpointDue(_ waiting: Int, _ loaded: LoadedEnvelopes) -> Bool {
        waiting * Self.checkpointRatio >= loaded.unsavedItems
    }

    /// What the server's outcomes mean for a batch's writes, in queue order, up to the first that stops the flush.
    private func resolve(
        _ batch: [(write: PendingWrite, entry: QueueEntry)], _ outcomes: [String: WriteOutcome],
        report: inout FlushReport, now: Date
    ) -> BatchResolution {
        var resolved = BatchResolution()
        writesOfBatch: for item in batch {
            switch outcomes[item.write.id] ?? .notAttempted {
            case .applied(let collection, let entities, let duplicate):
                resolved.successes.append((item.write, item.entry, collection, entities, duplicate))
            case .rejected(let message, let current):
                resolved.failures.append((attempted(item.write, error: message, now: now), item.entry))
                if let current {
                    resolved.refreshed.append(current)
                } else {
                    resolved.pullWhole.insert(item.write.kind.collection)
                }
            case .transient(let message, let retryAfter):
                var write = attempted(item.write, error: message, now: now)
                if write.attempts >= options.maximumAttempts {
                    let gaveUp = " (gave up after \(write.attempts) attempts)"
                    write.lastError = WriteLimits.truncatedError(message) + gaveUp
                    resolved.failures.append((write, item.entry))
                    continue writesOfBatch
                }
                write.nextAttemptAt = now.addingTimeInterval(
                    Backoff.delay(attempts: write.attempts, retryAfter: retryAfter))
                resolved.retryLater = (write, item.entry)
                report.stoppedAt = (write.id, message)
                report.stoppedByFailure = true
                break writesOfBatch
            case .notAttempted:
                break writesOfBatch
            }
        }
        return resolved
    }

    /// The write after a failed attempt.
    private func attempted(_ write: PendingWrite, error: String, now: Date) -> PendingWrite {
        var write = write
        write.attempts += 1
        write.lastAttemptAt = now
        write.lastError = WriteLimits.truncatedError(error)  // a write file must stay readable (WriteLimits)
        write.nextAttemptAt = nil
        return write
    }

    /// Outcomes for a batch; falls back to one request per write for a server without batches. A request that got
    /// no usable answer (none, or one that breaks the protocol) is a transient failure of the first write it was
    /// about; the outcomes of the requests before it stand.
    private func send(_ writes: [PendingWrite], report: inout FlushReport) async throws -> [String: WriteOutcome] {
        report.requests += 1
        if writes.count > 1 {
            do { return try await client.sendBatch(writes) } catch ServerError.status(_, let code, _)
                where code == 404 || code == 405
            {
                report.requests -= 1
            } catch {
                return [writes[0].id: try Self.transient(error)]
            }
        }
        var outcomes: [String: WriteOutcome] = [:]
        for write in writes {
            let outcome: WriteOutcome
            do { outcome = try await client.sendOne(write) } catch { outcome = try Self.transient(error) }
            outcomes[write.id] = outcome
            if case .transient = outcome { break }
            report.requests += 1
        }
        return outcomes
    }

    /// A request's failure as a transient outcome; 401 and anything else that is not about this request rethrow.
    private static func transient(_ error: any Error) throws -> WriteOutcome {
        switch error {
        case let error as TransportError: return .transient(message: error.description, retryAfter: nil)
        case let error as ServerError where error != .unauthorized:
            return .transient(message: error.description, retryAfter: nil)
        default: throw error
        }
    }
}
