import Foundation

/// How a sync behaves.
public struct SyncOptions: Sendable {
    /// The collections to pull, in this order (default: all nine).
    public var collections: [CollectionName] = CollectionName.allCases
    /// Flush the queue before pulling (SPEC §8), so the pulled data already holds the queued changes.
    public var flushFirst = true
    /// Options of that flush.
    public var flush = FlushOptions()
    /// Items per page requested from the server.
    public var pageSize = ServerClient.defaultPageSize

    /// Every collection, flush first, pages of the server's default size.
    public init() {}

    /// True when every collection is pulled, so a success can set `lastSyncAllAt`.
    var isSyncAll: Bool { Set(collections) == Set(CollectionName.allCases) }
}

/// What the pull of one collection did.
public struct CollectionSync: Sendable, Equatable {
    /// How a collection was pulled.
    public enum Mode: String, Sendable {
        /// No cursor yet (or no readable envelope): every item downloaded.
        case full
        /// Changes since the stored cursor merged into the cached items.
        case incremental
        /// The server did not know the stored cursor any more (410), so the collection was pulled whole.
        case fullAfterExpiredCursor = "full-after-expired-cursor"
    }

    /// The collection.
    public var collection: CollectionName
    /// How it was pulled.
    public var mode: Mode
    /// Pages received.
    public var pages = 0
    /// Items received (new or changed).
    public var received = 0
    /// Cached items removed because the server deleted them.
    public var removed = 0
    /// Items in the envelope afterwards.
    public var count = 0
    /// Wall time of this collection's pull.
    public var seconds = 0.0
    /// Why the pull failed; nil on success. A failed pull leaves the collection's files as they were.
    public var error: String?
    /// The failure was the network (the server could not be reached or did not answer).
    public var offline = false
}

/// What a sync did.
public struct SyncReport: Sendable {
    /// The flush that ran first, if any.
    public var flush: FlushReport?
    /// One result per collection asked for, in order.
    public var collections: [CollectionSync] = []
    /// Set when this run was a Sync All and every collection succeeded.
    public var lastSyncAllAt: Date?
    /// The cache's disk use against the budget, measured after the pulls (`Cache.sync`); nil if it could not be.
    public var storage: StorageUse?

    /// The collections whose pull failed (they keep their last good state).
    public var failed: [CollectionSync] { collections.filter { $0.error != nil } }
    /// True when every collection asked for was pulled.
    public var pulledEverything: Bool { failed.isEmpty }
}

/// Progress of a sync, for a terminal.
public enum SyncEvent: Sendable {
    case started(CollectionName, full: Bool)
    /// Items received so far in this collection's pull.
    case page(CollectionName, received: Int)
    case finished(CollectionSync)
}
