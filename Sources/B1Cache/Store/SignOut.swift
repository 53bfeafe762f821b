import Foundation

/// Why sign-out did not wipe the cache.
public enum SignOutError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Writes would be lost: the user must flush, export them, or force.
    case writesPending(pending: Int, failed: Int)
    /// The export file must be outside the cache, or it would be wiped with it.
    case exportInsideCache(path: String)

    public var description: String {
        switch self {
        case .writesPending(let pending, let failed):
            "sign-out would lose \(pending) pending and \(failed) failed write\(pending + failed == 1 ? "" : "s")"
        case .exportInsideCache(let path):
            "the export file \(path) is inside the cache that sign-out deletes"
        }
    }

    public var hint: String {
        switch self {
        case .writesPending:
            "run 'b1cache flush' first, save them with --export-pending FILE, or discard them with --force"
        case .exportInsideCache: "choose a path outside the cache folder"
        }
    }
}

/// Wipes a cache (SPEC §9).
public enum SignOut {
    public struct Result: Sendable, Equatable {
        public var removed: Bool
        public var exported: Int
    }

    /// Wipes the cache at `paths`, atomically from a reader's point of view: the root is renamed aside (one
    /// rename, so a reader sees the whole cache or none of it), then deleted. A leftover from an interrupted wipe
    /// is deleted by the next run (`CacheRoot.finishInterruptedSignOut`).
    /// - Parameters:
    ///   - force: wipe even when writes are pending or failed.
    ///   - exportTo: first save every pending and failed write there, one JSON object per line (a file that
    ///     `b1cache enqueue --batch` takes back); then the wipe needs no `force`.
    /// - Throws: `SignOutError.writesPending` (nothing is changed), `StoreError` on I/O failures.
    public static func run(paths: CachePaths, force: Bool, exportTo: URL?) throws -> Result {
        try CacheRoot.finishInterruptedSignOut(paths)
        guard try CacheRoot.check(paths.root) else { return Result(removed: false, exported: 0) }
        let queue = WriteQueue(paths: paths)
        let pending = try queue.pendingEntries()
        let failed = try queue.failedEntries()
        var exported = 0
        if let exportTo {
            let rootPath = paths.root.path + "/"
            if exportTo.standardizedFileURL.path.hasPrefix(rootPath) {
                throw SignOutError.exportInsideCache(path: exportTo.path)
            }
            var lines = Data()
            for entry in pending + failed {
                // An unreadable write file is exported as its raw bytes' absence would lose it: refuse instead.
                let write = try queue.read(entry)
                lines.append(Data(JSONWriter.compactString(write.json).utf8))
                lines.append(0x0A)
                exported += 1
            }
            do { try DurableFile.write(lines, to: exportTo) } catch { throw StoreError.from(error, writing: exportTo) }
        } else if !force && !(pending.isEmpty && failed.isEmpty) {
            throw SignOutError.writesPending(pending: pending.count, failed: failed.count)
        }
        let aside = paths.signOutAside()
        do {
            try System.renameItem(paths.root.path, aside.path)
            try System.fsyncDirectory(paths.root.deletingLastPathComponent().path)
        } catch {
            throw StoreError.from(error, writing: paths.root)
        }
        try CacheRoot.finishInterruptedSignOut(paths)
        return Result(removed: true, exported: exported)
    }
}
