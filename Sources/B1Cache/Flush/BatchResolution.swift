import Foundation

/// What one batch's answers mean for the files, applied by `Flusher.commit` in a crash-safe order.
struct BatchResolution {
    var successes: [(write: PendingWrite, entry: QueueEntry, collection: String?, entities: [JSONValue], duplicate: Bool)] = []
    var failures: [(write: PendingWrite, entry: QueueEntry)] = []
    var retryLater: (write: PendingWrite, entry: QueueEntry)?
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
    func commit(_ resolution: BatchResolution, envelopes loaded: LoadedEnvelopes, report: inout FlushReport, now: Date) throws {
        let store = CacheStore(paths: paths)
        var byCollection: [CollectionName: [JSONValue]] = [:]
        for success in resolution.successes {
            guard let name = success.collection.flatMap(CollectionName.init(rawValue:)) else { continue }
            byCollection[name, default: []] += success.entities.filter { $0["id"]?.stringValue != nil }
        }
        var envelopes: [Envelope] = []
        for (collection, entities) in byCollection.sorted(by: { $0.key < $1.key }) {
            // A collection never synced is left for sync to fetch whole.
            guard var envelope = try loaded.envelope(for: collection) else { continue }
            var positions: [String: Int] = [:]
            for (index, item) in envelope.items.enumerated() { if let id = item["id"]?.stringValue { positions[id] = index } }
            for entity in entities {
                guard let id = entity["id"]?.stringValue else { continue }
                if let index = positions[id] { envelope.items[index] = entity } else {
                    positions[id] = envelope.items.count
                    envelope.items.append(entity)
                }
            }
            envelopes.append(envelope)
        }
        if !envelopes.isEmpty { loaded.keep(try store.replaceEnvelopes(envelopes)) }
        var history: [JSONValue] = []
        do {
            for success in resolution.successes {
                try System.removeFile(success.entry.url.path)
                history.append(History.entry(success.write, result: success.duplicate ? "duplicate" : "applied", at: now))
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
