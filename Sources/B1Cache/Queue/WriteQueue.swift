import Foundation

/// A write file found in `queue/` or `failed/`.
public struct QueueEntry: Sendable, Equatable {
    /// The file's path.
    public var url: URL
    /// Nil when the name is not one b1cache makes.
    public var name: WriteFileName?
    /// The file's name.
    public var fileName: String { url.lastPathComponent }
}

/// The pending writes (`queue/`) and dead letters (`failed/`) of a cache.
public struct WriteQueue: Sendable {
    /// The cache whose queue this is.
    public let paths: CachePaths

    /// The queue of the cache at `paths`.
    public init(paths: CachePaths) { self.paths = paths }

    /// Pending write files in flush order (file-name order). Reads the directory only.
    public func pendingEntries() throws -> [QueueEntry] { try entries(in: paths.queue) }

    /// Failed write files, oldest first. Reads the directory only.
    public func failedEntries() throws -> [QueueEntry] { try entries(in: paths.failed) }

    /// The names of the pending write files in flush order, from one `readdir` pass: no `URL` and no parse per
    /// name, so listing 20,000 writes costs a few milliseconds.
    func pendingNames() throws -> [String] { try names(in: paths.queue) }

    /// The names of the failed write files, oldest first (see `pendingNames`).
    func failedNames() throws -> [String] { try names(in: paths.failed) }

    private func names(in folder: URL) throws -> [String] {
        guard try CacheRoot.check(paths.root) else { return [] }
        try CacheRoot.checkFolder(folder)
        let names: [String]
        do {
            names = try System.folderNames(folder.path)
        } catch {
            if try CacheRoot.statusOf(folder) == nil { return [] }
            throw StoreError.unreadable(path: folder.path, reason: "cannot list the folder")
        }
        return names.filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.sorted()
    }

    func entries(in folder: URL) throws -> [QueueEntry] {
        // The root first (in `names`): a symlinked or foreign root is refused here too, not only where files are
        // written (listing, showing, dropping and retrying all start here). Hidden names are staging files
        // (queue/.tmp) or temp orphans, never writes.
        try names(in: folder).map {
            QueueEntry(url: folder.appendingPathComponent($0, isDirectory: false), name: WriteFileName(fileName: $0))
        }
    }

    /// Reads one write file.
    ///
    /// The file name must be one b1cache makes (it fixes the flush order) and name the write's id: a file
    /// renamed or copied by hand could otherwise be sent out of order, or under another write's id.
    /// - Throws: `StoreError.corrupt` for a name or content that is not a write's, `.newerSchema`, `.unreadable`.
    public func read(_ entry: QueueEntry) throws -> PendingWrite { try readWithSize(entry).write }

    /// Reads the pending write file `name`, with its size in bytes.
    func readWithSize(_ name: String) throws -> (write: PendingWrite, bytes: Int64) {
        try readWithSize(QueueEntry(url: paths.queued(name), name: WriteFileName(fileName: name)))
    }

    private func readWithSize(_ entry: QueueEntry) throws -> (write: PendingWrite, bytes: Int64) {
        let path = entry.url.path
        guard let name = entry.name else {
            throw StoreError.corrupt(path: path, reason: "is not named like a write file (TIME-SEQUENCE-ID.json)")
        }
        let data: Data
        do {
            data = try System.readFile(path, limit: PendingWrite.maximumFileSize)
        } catch let error as SystemCallError {
            throw StoreError.from(error, reading: path)
        }
        let write = try PendingWrite.decode(data, path: path)
        guard write.id == name.id else {
            throw StoreError.corrupt(
                path: path,
                reason: "holds write '\(write.id)' but its file name says '\(name.id)'")
        }
        return (write, Int64(data.count))
    }
}
