import Foundation

/// Pulls fresh data into the cache (SPEC §8). Run it under the cache lock.
///
/// Each collection is pulled whole on its first sync and incrementally afterwards (`since` = the stored cursor),
/// page after page, merged by id in memory and written once at the end of its pull together with its manifest
/// entry; a pull that fails part-way writes nothing, so the collection keeps its last good state and cursor.
/// `lastSyncAllAt` is the time this Sync All started, so every collection it pulled has `syncedAt` at or after it
/// and none counts as stale.
public struct Syncer: Sendable {
    /// The cache being synced.
    public let paths: CachePaths
    /// The server pulled from.
    public let client: ServerClient
    /// Which collections, whether to flush first, page size.
    public var options: SyncOptions
    /// Called as collections start, pages arrive and collections finish.
    public var progress: (@Sendable (SyncEvent) -> Void)?
    /// Passed to the flush that runs first.
    public var flushProgress: (@Sendable (Int, Int) -> Void)?

    /// A syncer of the cache at `paths`.
    public init(
        paths: CachePaths, client: ServerClient, options: SyncOptions = SyncOptions(),
        progress: (@Sendable (SyncEvent) -> Void)? = nil
    ) {
        self.paths = paths
        self.client = client
        self.options = options
        self.progress = progress
    }

    /// - Throws: `FlushError.offline` / `TransportError` when the server cannot be reached at the start (nothing
    ///   changed); `ServerError.unauthorized` or `.otherAccount` (nothing written); `StoreError` for an unusable root.
    public func run() async throws -> SyncReport {
        var report = SyncReport()
        try CacheRoot.prepare(paths)
        if options.flushFirst {
            report.flush = try await Flusher(
                paths: paths, client: client, options: options.flush, progress: flushProgress
            ).run()
        } else {
            try await client.claim(paths)
        }
        let started = Date()
        var offline = false
        var confirmations: [Confirmation] = []
        for collection in options.collections {
            if offline {
                report.collections.append(
                    CollectionSync(
                        collection: collection, mode: .incremental,
                        error: "not attempted: the server stopped answering", offline: true))
                continue
            }
            let pulled = try await pullReportingFailure(collection)
            offline = pulled.sync.offline
            report.collections.append(pulled.sync)
            if let confirmation = pulled.confirmation { confirmations.append(confirmation) }
            progress?(.finished(pulled.sync))
        }
        let syncAll = options.isSyncAll && report.pulledEverything
        // One manifest write for every pull that brought nothing, and the Sync All time.
        try CacheStore(paths: paths).confirm(confirmations, lastSyncAllAt: syncAll ? started : nil)
        if syncAll { report.lastSyncAllAt = started }
        return report
    }

    /// One collection's pull; failures other than a refused session become the result's `error`.
    private func pullReportingFailure(_ collection: CollectionName) async throws -> Pulled {
        let started = Date()
        var failed = CollectionSync(collection: collection, mode: .incremental)
        do {
            return try await pull(collection)
        } catch let error as TransportError {
            failed.error = error.description
            failed.offline = error.isOffline
        } catch let error as ServerError where error != .unauthorized {
            failed.error = error.description
        } catch let error as StoreError {
            failed.error = "\(error.description) (\(error.hint))"
        }
        failed.seconds = Date().timeIntervalSince(started)
        return Pulled(sync: failed, confirmation: nil)
    }

    /// Pulls one collection. Starts from the manifest alone when a stat shows the envelope is the one it describes
    /// (`CacheStore.envelopeMatches`), and reads the envelope only once a page brings a change: a pull that brings
    /// nothing returns a `Confirmation` for the manifest and writes no envelope. Otherwise, or when the manifest
    /// turns out to be behind its envelope (a crash between the two writes), the envelope's own cursor is used.
    private func pull(_ collection: CollectionName, trustingManifest: Bool = true) async throws -> Pulled {
        let started = Date()
        let store = CacheStore(paths: paths)
        let entry = try store.manifest().collections[collection]
        // The envelope's other members; its items are in `merge`, as their bytes (`EncodedItems`).
        var envelope: Envelope?
        var merge = ItemMerge<EncodedItems>()
        var cursor: String?
        if trustingManifest, let entry, let resume = entry.resumeCursor,
            try store.envelopeMatches(entry, of: collection)
        {
            cursor = resume
        } else {
            let loaded = try load(collection, store: store)
            envelope = loaded.envelope
            cursor = loaded.envelope.cursor
            if cursor != nil { merge = loaded.items }  // else pulled whole: the cached items are replaced
        }
        let startCursor = cursor
        var result = CollectionSync(collection: collection, mode: cursor != nil ? .incremental : .full)
        var complete = collection.isComplete
        progress?(.started(collection, full: result.mode != .incremental))
        while true {
            let page: CollectionPage
            do {
                page = try await client.pull(collection, since: cursor, limit: options.pageSize)
            } catch ServerError.cursorExpired(_) where result.mode == .incremental && result.pages == 0 {
                result.mode = .fullAfterExpiredCursor
                cursor = nil
                merge = ItemMerge()
                progress?(.started(collection, full: true))
                continue
            }
            result.pages += 1
            complete = collection.isComplete && page.complete
            let bringsChange =
                !page.items.isEmpty || !page.deleted.isEmpty || (!page.hasMore && complete != collection.isComplete)
            if envelope == nil && (bringsChange || result.mode != .incremental) {
                // Something will be written: now the envelope is needed (its items, revision and unknown members).
                let loaded = try load(collection, store: store)
                if result.mode == .incremental {
                    guard loaded.envelope.revision == entry?.revision, loaded.envelope.cursor == startCursor else {
                        return try await pull(collection, trustingManifest: false)
                    }
                    merge = loaded.items
                }
                envelope = loaded.envelope
            }
            merge.apply(page)
            progress?(.page(collection, received: merge.received))
            if page.hasMore && page.cursor == cursor && page.items.isEmpty && page.deleted.isEmpty {
                throw ServerError.invalidAnswer(
                    path: "/v1/collections/\(collection.rawValue)",
                    reason: "'hasMore' is true but the page brought nothing and the cursor did not move")
            }
            cursor = page.cursor
            if !page.hasMore { break }
        }
        result.received = merge.received
        result.removed = merge.removed
        let finalCursor = cursor ?? ""
        var unchanged = entry != nil && result.mode == .incremental && merge.changed == 0
        if unchanged, let entry, let envelope {
            // Read for this pull: unchanged only when it is the entry's revision and the entry describes its file.
            let sameFile = try store.envelopeMatches(entry, of: collection, strictlyOlder: false)
            unchanged = sameFile && envelope.complete == complete && envelope.revision == entry.revision
        }
        if unchanged, let entry {
            // Nothing changed: the envelope stays as it is, byte for byte; the manifest records the pull.
            result.count = entry.count
            result.seconds = Date().timeIntervalSince(started)
            return Pulled(
                sync: result,
                confirmation: Confirmation(
                    collection: collection, revision: entry.revision, at: started, cursor: finalCursor))
        }
        var written = envelope ?? Envelope(collection: collection, revision: entry?.revision ?? 0)
        written.cursor = cursor
        written.syncedAt = started
        written.complete = complete
        // The unchanged items' bytes are copied from the file read, the others were encoded as they came.
        try store.replaceEnvelope(written, items: merge.items)
        result.count = merge.items.count
        result.seconds = Date().timeIntervalSince(started)
        return Pulled(sync: result, confirmation: nil)
    }

    /// The envelope to pull into: the cached one, or an empty one numbered on from the manifest's entry when there
    /// is none or it cannot be read (unreadable cached data is what a full pull replaces; `verify` would say the
    /// same). A newer schema is not caught: that file belongs to a newer b1cache and is never overwritten.
    private func load(
        _ collection: CollectionName, store: CacheStore
    ) throws -> (envelope: Envelope, items: ItemMerge<EncodedItems>) {
        func fresh() throws -> (envelope: Envelope, items: ItemMerge<EncodedItems>) {
            let revision = try store.manifest().collections[collection]?.revision ?? 0
            return (Envelope(collection: collection, revision: revision), ItemMerge())
        }
        do {
            return try store.encodedEnvelope(for: collection) ?? fresh()
        } catch StoreError.corrupt {
            return try fresh()
        }
    }
}

/// One collection's pull: its report, and the confirmation to record when it brought nothing.
struct Pulled {
    var sync: CollectionSync
    var confirmation: Confirmation?
}
