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
    public init(paths: CachePaths, client: ServerClient, options: SyncOptions = SyncOptions(),
                progress: (@Sendable (SyncEvent) -> Void)? = nil) {
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
            report.flush = try await Flusher(paths: paths, client: client, options: options.flush, progress: flushProgress).run()
        } else {
            try await client.claim(paths)
        }
        let started = Date()
        var offline = false
        for collection in options.collections {
            if offline {
                report.collections.append(CollectionSync(collection: collection, mode: .incremental,
                                                         error: "not attempted: the server stopped answering", offline: true))
                continue
            }
            let result = try await pullReportingFailure(collection)
            offline = result.offline
            report.collections.append(result)
            progress?(.finished(result))
        }
        if options.isSyncAll && report.pulledEverything {
            let store = CacheStore(paths: paths)
            var manifest = try store.manifest()
            manifest.lastSyncAllAt = started
            try store.writeManifest(manifest)
            report.lastSyncAllAt = started
        }
        return report
    }

    /// One collection's pull; failures other than a refused session become the result's `error`.
    private func pullReportingFailure(_ collection: CollectionName) async throws -> CollectionSync {
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
        return failed
    }

    private func pull(_ collection: CollectionName) async throws -> CollectionSync {
        let started = Date()
        let store = CacheStore(paths: paths)
        // No (readable) envelope: a full pull starts from an empty one, numbered on from the manifest's entry.
        func fresh() throws -> Envelope {
            Envelope(collection: collection, revision: try store.manifest().collections[collection]?.revision ?? 0)
        }
        var envelope: Envelope
        do {
            envelope = try store.envelope(for: collection) ?? fresh()
        } catch StoreError.corrupt {
            // Unreadable cached data is what a full pull replaces; `verify` would say the same. A newer schema
            // is not caught: that file belongs to a newer b1cache and is never overwritten.
            envelope = try fresh()
        }
        // The envelope's own cursor, not the manifest's copy: after a crash between the two writes, the envelope
        // is the one that says which changes its items already hold.
        var cursor = envelope.cursor
        var result = CollectionSync(collection: collection, mode: cursor != nil ? .incremental : .full)
        var merge = ItemMerge(items: result.mode == .incremental ? envelope.items : [])
        var complete = envelope.complete
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
            merge.apply(page)
            progress?(.page(collection, received: merge.received))
            if page.hasMore && page.cursor == cursor && page.items.isEmpty && page.deleted.isEmpty {
                throw ServerError.invalidAnswer(path: "/v1/collections/\(collection.rawValue)",
                                                reason: "'hasMore' is true but the page brought nothing and the cursor did not move")
            }
            cursor = page.cursor
            complete = collection.isComplete && page.complete
            if !page.hasMore { break }
        }
        envelope.items = merge.result
        envelope.cursor = cursor
        envelope.syncedAt = started
        envelope.complete = complete
        try store.replaceEnvelopes([envelope])
        result.received = merge.received
        result.removed = merge.removed
        result.count = envelope.items.count
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}
