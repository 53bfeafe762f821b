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

/// The envelopes one flush has read, with the server's answers merged into them as the batches come back: the
/// flush holds the lock, so no one else writes them. The items are held as their encoded bytes (`EncodedItems`,
/// about the file's size, not a `JSONValue` tree), a batch's answers cost O(batch) here, and the envelopes are
/// written only at a checkpoint (`save`), so a flush of N writes rewrites each envelope about N / (items ÷
/// `Flusher.checkpointRatio`) times instead of once per batch.
final class LoadedEnvelopes {
    private let store: CacheStore
    /// Each collection read: its envelope (without its items) and the merge holding them; nil when never synced.
    private var loaded: [CollectionName: (envelope: Envelope, merge: ItemMerge<EncodedItems>)?] = [:]
    /// Collections changed since the last save.
    private var dirty: Set<CollectionName> = []
    private var pullWhole: Set<CollectionName> = []

    init(store: CacheStore) { self.store = store }

    /// Merges a batch's answers into a collection (nothing for one never synced: sync fetches it whole); with
    /// `pullWhole` its cursor goes at the next save, so the next sync pulls it whole.
    func merge(_ items: [JSONValue], deleted: [String], into collection: CollectionName, pullWhole: Bool) throws {
        if loaded[collection] == nil {
            loaded[collection] = .some(try store.encodedEnvelope(for: collection).map { ($0.envelope, $0.items) })
        }
        // Taken out while it changes, so its storage is not copied (one reference).
        guard var entry = loaded.removeValue(forKey: collection) ?? nil else {
            loaded[collection] = .some(nil)
            return
        }
        entry.merge.apply(items: items, deleted: deleted)
        loaded[collection] = entry
        dirty.insert(collection)
        if pullWhole { self.pullWhole.insert(collection) }
    }

    /// How many items the next `save` writes (the cost of a checkpoint).
    var unsavedItems: Int { dirty.reduce(0) { $0 + ((loaded[$1] ?? nil)?.merge.items.count ?? 0) } }

    /// Writes every changed envelope (one manifest write for all), durably.
    func save() throws {
        var envelopes: [(envelope: Envelope, encoded: EncodedItems?)] = []
        for collection in dirty.sorted() {
            guard var entry = loaded[collection] ?? nil else { continue }
            // Without a cursor the next sync pulls the collection whole, bringing the rejected items' real state.
            if pullWhole.contains(collection) { entry.envelope.cursor = nil }
            envelopes.append((entry.envelope, entry.merge.items))
        }
        if !envelopes.isEmpty {
            for written in try store.replaceEnvelopes(encoded: envelopes) {
                if var entry = loaded.removeValue(forKey: written.collection) ?? nil {
                    entry.envelope = written  // the new revision
                    loaded[written.collection] = entry
                }
            }
        }
        dirty = []
        pullWhole = []
    }
}

extension BatchResolution {
    /// The answers of a batch merged into the envelopes in memory: the successes' entities, then what rejections
    /// said of their items, per collection, in the order of the batch.
    func merge(into envelopes: LoadedEnvelopes) throws {
        var changes: [CollectionName: (items: [JSONValue], deleted: [String])] = [:]
        for success in successes {
            guard let name = success.collection.flatMap(CollectionName.init(rawValue:)) else { continue }
            changes[name, default: ([], [])].items += success.entities
        }
        for current in refreshed {
            guard let name = CollectionName(rawValue: current.collection) else { continue }
            changes[name, default: ([], [])].items += current.entities
            changes[name, default: ([], [])].deleted += current.deleted
        }
        for name in pullWhole { changes[name] = changes[name] ?? ([], []) }
        for (collection, change) in changes.sorted(by: { $0.key < $1.key }) {
            try envelopes.merge(
                change.items, deleted: change.deleted, into: collection, pullWhole: pullWhole.contains(collection))
        }
    }

    /// Adds a later batch's outcomes (their answers already merged), to be committed together.
    mutating func append(_ later: BatchResolution) {
        successes += later.successes
        failures += later.failures
        retryLater = later.retryLater ?? retryLater
    }

    /// True when something other than applied writes waits: a rejection or a write to rewrite, committed at once.
    var needsCommitNow: Bool { !failures.isEmpty || retryLater != nil || !refreshed.isEmpty || !pullWhole.isEmpty }
}

extension Flusher {
    /// A checkpoint, in the crash-safe order: the envelopes holding every answer merged so far first, then the
    /// write files of the successes go; failures move to `failed/`; the write that must wait is rewritten with its
    /// attempts; then the history. A crash before the envelopes are durable leaves every one of those writes
    /// queued, and sending it again is answered as a duplicate with the item's current state.
    func commit(_ resolution: BatchResolution, envelopes loaded: LoadedEnvelopes, report: inout FlushReport, now: Date)
        throws
    {
        try loaded.save()
        var history: [JSONValue] = []
        guard !resolution.successes.isEmpty || !resolution.failures.isEmpty || resolution.retryLater != nil else {
            return
        }
        // Holding the queue's folder lock, with the queue index removed first: an enqueue meanwhile cannot write
        // an index that misses these changes (flush writes it again at its end).
        try QueueIndex.locked(paths) {
            try QueueIndex.invalidate(paths)
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
                    history.append(
                        History.entry(failure.write, result: "failed", error: failure.write.lastError, at: now))
                    report.movedToFailed.append(failure.write.id)
                    report.failureReasons[failure.write.id] = failure.write.lastError
                }
                if let retry = resolution.retryLater {
                    try DurableFile.write(retry.write.encoded(), to: retry.entry.url, staging: paths.queueStaging)
                    history.append(
                        History.entry(retry.write, result: "retry-later", error: retry.write.lastError, at: now))
                }
            } catch {
                throw StoreError.from(error, writing: paths.queue)
            }
        }
        try History(paths: paths).append(history)
    }
}
