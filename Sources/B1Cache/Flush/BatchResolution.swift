import Foundation

/// What one batch's answers mean for the files, applied by `Flusher.commit` in a crash-safe order.
struct BatchResolution {
    var successes:
        [(write: PendingWrite, entry: QueueEntry, collection: String?, entities: [JSONValue], duplicate: Bool)] = []
    var failures: [(write: PendingWrite, entry: QueueEntry)] = []
    var retryLater: (write: PendingWrite, entry: QueueEntry)?
    /// What rejections said of their items now; the cache shows the server's state instead of the one that caused
    /// the conflict (and enqueue then judges a new edit against it).
    var refreshed: [CurrentItems] = []
    /// Collections whose rejected items the server did not send: their next pull is a full one.
    var pullWhole: Set<CollectionName> = []
}

/// Exponential backoff with jitter; `Retry-After` wins when it asks for longer.
enum Backoff {
    static func delay(attempts: Int, retryAfter: TimeInterval?) -> TimeInterval {
        let exponential = min(3600, 2 * pow(2, Double(max(0, attempts - 1))))
        let jittered = exponential * Double.random(in: 0.8...1.2)
        return max(retryAfter ?? 0, jittered)
    }
}

/// The envelopes one flush has read, kept between its batches: the flush holds the lock, so no one else writes
/// them, and each batch then costs one rewrite per collection instead of a read, a parse and a rewrite.
final class LoadedEnvelopes {
    private let store: CacheStore
    private var loaded: [CollectionName: Envelope?] = [:]

    init(store: CacheStore) { self.store = store }

    func envelope(for collection: CollectionName) throws -> Envelope? {
        if let known = loaded[collection] { return known }
        let envelope = try store.envelope(for: collection)
        loaded[collection] = envelope
        return envelope
    }

    /// Remembers envelopes as written (with their new revision).
    func keep(_ written: [Envelope]) {
        for envelope in written { loaded[envelope.collection] = envelope }
    }
}

extension Flusher {
    /// Envelopes first (one rewrite per collection per batch), then the write files go; failures move to
    /// `failed/`; the write that must wait is rewritten with its attempts; then the history.
    func commit(_ resolution: BatchResolution, envelopes loaded: LoadedEnvelopes, report: inout FlushReport, now: Date)
        throws
    {
        let store = CacheStore(paths: paths)
        var changes: [CollectionName: (items: [JSONValue], deleted: [String])] = [:]
        for success in resolution.successes {
            guard let name = success.collection.flatMap(CollectionName.init(rawValue:)) else { continue }
            changes[name, default: ([], [])].items += success.entities
        }
        for current in resolution.refreshed {
            guard let name = CollectionName(rawValue: current.collection) else { continue }
            changes[name, default: ([], [])].items += current.entities
            changes[name, default: ([], [])].deleted += current.deleted
        }
        for name in resolution.pullWhole { changes[name] = changes[name] ?? ([], []) }
        var envelopes: [Envelope] = []
        for (collection, change) in changes.sorted(by: { $0.key < $1.key }) {
            // A collection never synced is left for sync to fetch whole.
            guard var envelope = try loaded.envelope(for: collection) else { continue }
            var merge = ItemMerge(items: envelope.items)
            merge.apply(items: change.items, deleted: change.deleted)
            envelope.items = merge.result
            // Without a cursor the next sync pulls the collection whole, bringing the rejected items' real state.
            if resolution.pullWhole.contains(collection) { envelope.cursor = nil }
            envelopes.append(envelope)
        }
        if !envelopes.isEmpty { loaded.keep(try store.replaceEnvelopes(envelopes)) }
        var history: [JSONValue] = []
        do {
            for success in resolution.successes {
                try System.removeFile(success.entry.url.path)
                history.append(
                    History.entry(success.write, result: success.duplicate ? "duplicate" : "applied", at: now))
                if success.duplicate { report.duplicates.append(success.write.id) }
                report.applied.append(success.write.id)
            }
            if !resolution.successes.isEmpty { try System.fsyncDirectory(paths.queue.path) }
            for failure in resolution.failures {
                // Copy into failed/ durably before the queue file goes: a crash in between leaves it in both, and
                // the next flush gets the same final answer from the server.
                try CacheRoot.prepare(paths)
                try DurableFile.write(failure.write.encoded(), to: paths.failed(failure.entry.fileName))
                try DurableFile.remove(failure.entry.url)
                history.append(History.entry(failure.write, result: "failed", error: failure.write.lastError, at: now))
                report.movedToFailed.append(failure.write.id)
                report.failureReasons[failure.write.id] = failure.write.lastError
            }
            if let retry = resolution.retryLater {
                try DurableFile.write(retry.write.encoded(), to: retry.entry.url, staging: paths.queueStaging)
                history.append(History.entry(retry.write, result: "retry-later", error: retry.write.lastError, at: now))
            }
        } catch {
            throw StoreError.from(error, writing: paths.queue)
        }
        try History(paths: paths).append(history)
    }
}
