import Foundation

/// Reads and writes the files of one cache root: the manifest and the envelopes.
///
/// A value type holding only paths, so it is `Sendable` and cheap to pass around. Envelope writers (flush, sync)
/// run under the cache lock, which serializes the manifest's read-modify-write; readers never lock because
/// every file is replaced by an atomic rename.
public struct CacheStore: Sendable {
    /// The cache whose files these are.
    public let paths: CachePaths

    /// The store of the cache at `paths`.
    public init(paths: CachePaths) { self.paths = paths }

    // MARK: Reading

    /// Whether the root exists (after checking it is safe to use).
    public func exists() throws -> Bool {
        try CacheRoot.check(paths.root)
    }

    /// The manifest; an empty one when nothing was synced yet.
    /// - Throws: `StoreError` naming the manifest when it cannot be read or parsed.
    public func manifest() throws -> Manifest {
        guard let data = try readIfPresent(paths.manifest) else { return Manifest() }
        return try Manifest.decode(data, path: paths.manifest.path)
    }

    /// The envelope of a collection, or nil when it was never synced, with the manifest's confirmation folded in:
    /// when the manifest entry describes this very revision and a later pull confirmed it current (`confirmedAt`,
    /// `confirmedCursor`), `syncedAt` and `cursor` are that pull's, so the next rewrite of the file carries them.
    /// - Important: reads and parses the whole file (tens of MB for a large collection).
    public func envelope(for collection: CollectionName) throws -> Envelope? {
        let url = paths.envelope(for: collection)
        guard let data = try readIfPresent(url) else { return nil }
        var envelope = try Envelope.decode(data, path: url.path, expected: collection)
        fold(into: &envelope)
        return envelope
    }

    /// `envelope(for:)` with the items kept as their bytes (`Envelope.decodeEncoded`): the envelope comes back with
    /// no items, and the merge holds them. For sync, which so holds about the file's size, not the items' tree.
    /// - Important: reads the whole file.
    func encodedEnvelope(for collection: CollectionName) throws -> (envelope: Envelope, items: ItemMerge<EncodedItems>)?
    {
        let url = paths.envelope(for: collection)
        guard let data = try readIfPresent(url) else { return nil }
        var read = try Envelope.decodeEncoded(data, path: url.path, expected: collection)
        fold(into: &read.envelope)
        return read
    }

    private func fold(into envelope: inout Envelope) {
        // A manifest that cannot be read confirms nothing; the envelope alone is still right, only older.
        if let entry = (try? manifest())?.collections[envelope.collection] { envelope.fold(entry) }
    }

    /// True when the envelope on disk is, by a stat alone, the one `entry` describes: a regular file of
    /// `entry.bytes` bytes, modified strictly before the manifest (which is always written after its envelopes).
    /// False after a crash between the envelope's rename and the manifest's, for a file replaced by hand, or when
    /// in doubt (equal times): then the caller reads the envelope itself. Costs two `lstat`s.
    /// With `strictlyOlder: false` the times are not compared (for an envelope just read and found to be the
    /// entry's revision).
    public func envelopeMatches(
        _ entry: CollectionState, of collection: CollectionName,
        strictlyOlder: Bool = true
    ) throws -> Bool {
        guard try CacheRoot.check(paths.root) else { return false }
        guard let file = try System.status(paths.envelope(for: collection).path), file.isRegularFile,
            file.size == Int64(entry.bytes),
            let manifest = try System.status(paths.manifest.path), manifest.isRegularFile
        else { return false }
        return !strictlyOlder || file.modified < manifest.modified
    }

    /// Reads a file inside the cache; nil when it does not exist.
    /// Checks the root first, and the folder holding the file (`collections/`): a symlinked or foreign one is refused
    /// for reads too. The file itself is opened with `O_NOFOLLOW`, which only guards the last path component.
    func readIfPresent(_ url: URL, limit: Int = Int.max) throws -> Data? {
        guard try CacheRoot.check(paths.root) else { return nil }
        let folder = url.deletingLastPathComponent()
        if folder.standardizedFileURL.path != paths.root.path { try CacheRoot.checkFolder(folder) }
        do {
            return try System.readFile(url.path, limit: limit)
        } catch let error as SystemCallError {
            if error.isNotFound { return nil }
            throw StoreError.from(error, reading: url.path)
        }
    }

    // MARK: Writing

    /// Writes an envelope (revision + 1) and updates its manifest entry — count, bytes, syncedAt, cursor,
    /// revision — in the same operation. Returns the envelope as written.
    ///
    /// The envelope is renamed into place before the manifest; a crash between the two leaves a manifest entry
    /// one revision behind, which `verify` reports and `verify --repair` rebuilds from the envelope.
    @discardableResult
    public func replaceEnvelope(_ envelope: Envelope) throws -> Envelope {
        try replaceEnvelopes([envelope]).first ?? envelope
    }

    /// Writes several envelopes and updates the manifest once.
    @discardableResult
    public func replaceEnvelopes(_ envelopes: [Envelope], updating change: ((inout Manifest) -> Void)? = nil) throws
        -> [Envelope]
    {
        try replace(envelopes.map { ($0, nil) }, updating: change)
    }

    /// `replaceEnvelope` of an envelope whose items are `items` (its own `items` are ignored), as sync holds them.
    @discardableResult
    func replaceEnvelope(_ envelope: Envelope, items: EncodedItems) throws -> Envelope {
        try replace([(envelope, items)], updating: nil).first ?? envelope
    }

    private func replace(
        _ envelopes: [(envelope: Envelope, encoded: EncodedItems?)], updating change: ((inout Manifest) -> Void)?
    ) throws -> [Envelope] {
        try CacheRoot.prepare(paths)
        var manifest = try self.manifest()
        var written: [Envelope] = []
        for (var envelope, encoded) in envelopes {
            envelope.revision += 1
            let url = paths.envelope(for: envelope.collection)
            // Streamed into the temp file: the encoded bytes never sit beside the items in memory.
            let bytes: Int
            do {
                bytes = try encoded.map { try envelope.write(to: url, items: $0) } ?? envelope.write(to: url)
            } catch {
                throw StoreError.from(error, writing: url)
            }
            var state = CollectionState(
                syncedAt: envelope.syncedAt, revision: envelope.revision,
                count: encoded?.count ?? envelope.items.count, bytes: bytes, cursor: envelope.cursor)
            // A new revision starts unconfirmed: the envelope now carries its own syncedAt and cursor.
            state.otherMembers = manifest.collections[envelope.collection]?.otherMembers ?? JSONObject()
            manifest.collections[envelope.collection] = state
            written.append(envelope)
        }
        change?(&manifest)
        try writeManifest(manifest)
        return written
    }

    /// Records pulls that brought nothing, without touching an envelope: each entry still at `revision` gets
    /// `confirmedAt` (and `confirmedCursor` when the pull ended on another cursor); `lastSyncAllAt` is set when
    /// given. One manifest write for all of them.
    public func confirm(_ confirmations: [Confirmation], lastSyncAllAt: Date? = nil) throws {
        guard !confirmations.isEmpty || lastSyncAllAt != nil else { return }
        var manifest = try self.manifest()
        for confirmation in confirmations {
            // An entry rewritten since (or gone) is not the revision that pull confirmed.
            guard var entry = manifest.collections[confirmation.collection],
                entry.revision == confirmation.revision
            else { continue }
            entry.confirmedAt = confirmation.at
            entry.confirmedCursor = confirmation.cursor == entry.cursor ? nil : confirmation.cursor
            manifest.collections[confirmation.collection] = entry
        }
        if let lastSyncAllAt { manifest.lastSyncAllAt = lastSyncAllAt }
        try writeManifest(manifest)
    }

    /// Writes the manifest durably.
    public func writeManifest(_ manifest: Manifest) throws {
        try CacheRoot.prepare(paths)
        do { try DurableFile.write(manifest.encoded(), to: paths.manifest) } catch {
            throw StoreError.from(error, writing: paths.manifest)
        }
    }
}

/// A pull that brought nothing new: the collection, the revision it found current, when that pull started and the
/// cursor it ended on.
public struct Confirmation: Sendable, Equatable {
    /// The collection pulled.
    public var collection: CollectionName
    /// The envelope's revision the pull confirmed.
    public var revision: Int
    /// When the pull started (the data is at least that fresh).
    public var at: Date
    /// The cursor of its last page.
    public var cursor: String
}

extension Envelope {
    /// Takes the manifest's confirmation of this revision (see `CacheStore.envelope(for:)`).
    mutating func fold(_ entry: CollectionState) {
        guard entry.revision == revision, let confirmedAt = entry.confirmedAt else { return }
        if syncedAt.map({ confirmedAt > $0 }) ?? true { syncedAt = confirmedAt }
        if let confirmedCursor = entry.confirmedCursor { cursor = confirmedCursor }
    }
}
