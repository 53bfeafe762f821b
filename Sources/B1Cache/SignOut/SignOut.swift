import Foundation

/// Why sign-out did not wipe the cache.
public enum SignOutError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Writes would be lost: the user must flush, export them, or force.
    case writesPending(pending: Int, failed: Int)
    /// The export file must be outside the cache, or it would be wiped with it.
    case exportInsideCache(path: String)
    /// Something is already at the export path (`what` says what): an earlier export is never replaced unasked,
    /// and b1cache never writes through a link or into a device.
    case exportExists(path: String, what: String)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .writesPending(let pending, let failed):
            "sign-out would lose \(pending) pending and \(failed) failed write\(pending + failed == 1 ? "" : "s")"
        case .exportInsideCache(let path):
            "the export file \(path) is inside the cache that sign-out deletes"
        case .exportExists(let path, let what):
            "the export file \(path) already exists (\(what)); nothing was exported or deleted"
        }
    }

    /// What to do next.
    public var hint: String {
        switch self {
        case .writesPending:
            "run 'b1cache flush' first, save them with --export-pending FILE, or discard them with --force"
        case .exportInsideCache: "choose a path outside the cache folder"
        case .exportExists(_, let what) where what == "a file":
            "choose a new file name, or pass --overwrite to replace that file"
        case .exportExists: "choose a new file name for the export"
        }
    }
}

/// Wipes a cache (SPEC §9).
public enum SignOut {
    /// What a sign-out did.
    public struct Result: Sendable, Equatable {
        /// False when there was no cache to delete.
        public var removed: Bool
        /// Writes saved to the export file.
        public var exported: Int
        /// With `force`: the symbolic link found where the lock belongs, wiped with the rest.
        public var plantedLockLink: String?
    }

    /// Where to save the pending and failed writes before the wipe.
    public struct Export: Sendable {
        /// Where the export is written.
        public var file: URL
        /// Replace an existing regular file at `file` (never a link, a folder or a device).
        public var overwrite: Bool

        /// An export to `file` (which must not exist, unless `overwrite` and it is a regular file).
        public init(file: URL, overwrite: Bool = false) {
            self.file = file.standardizedFileURL
            self.overwrite = overwrite
        }
    }

    /// Wipes the cache at `paths`, atomically from a reader's point of view: the root is renamed aside (one
    /// rename, so a reader sees the whole cache or none of it), then deleted. A leftover from an interrupted wipe
    /// is deleted by the next run (`SignOut.finishInterrupted`). Takes the cache lock, so no flush or
    /// sync is running in the folder it deletes (the rename takes the lock away with the root).
    /// - Parameters:
    ///   - force: wipe even when writes are pending or failed.
    ///   - export: first save every pending and failed write there (`PendingExport`, which
    ///     `b1cache enqueue --batch` takes back), durably; then the wipe needs no `force`.
    ///   - wait: wait for a flush or sync holding the lock instead of failing with `LockError.busy`.
    /// - Throws: `StoreError.notACache` for a folder holding anything b1cache does not make, `SignOutError`
    ///   (nothing is changed), `LockError`, `StoreError` on I/O failures.
    public static func run(paths: CachePaths, force: Bool, export: Export?, wait: Bool = false) throws -> Result {
        try finishInterrupted(paths)
        if let export { try checkExportPath(export, root: paths.root) }
        switch try CacheFolder.requireCache(paths, toAct: "delete") {
        case .missing: return Result(removed: false, exported: 0, plantedLockLink: nil)
        case .empty: return try wipe(paths, force: force, export: export)
        case .cache, .foreign: break
        }
        do {
            return try CacheLock(paths: paths, command: "sign-out").withLock(wait: wait) {
                try wipe(paths, force: force, export: export)
            }
        } catch LockError.symbolicLink(let link) where force {
            // A link planted at the lock was never made by a b1cache process, so no flush or sync holds it:
            // --force wipes anyway (the wipe deletes the link, never what it points to).
            var result = try wipe(paths, force: force, export: export)
            result.plantedLockLink = link
            return result
        }
    }

    private static func wipe(_ paths: CachePaths, force: Bool, export: Export?) throws -> Result {
        let queue = WriteQueue(paths: paths)
        let pending = try queue.pendingEntries()
        let failed = try queue.failedEntries()
        var exported = 0
        if let export {
            // An unreadable write file cannot be exported, and the wipe would lose it: refuse instead.
            let writes = try (pending + failed).map { try queue.read($0) }
            let account: Account?
            do { account = try CacheStore(paths: paths).manifest().account } catch { account = nil }
            let data = PendingExport(account: account, writes: writes).encoded()
            // Durable before anything is wiped: the export is then the only copy of these writes.
            do { try DurableFile.write(data, to: export.file) } catch {
                throw StoreError.from(error, writing: export.file)
            }
            exported = writes.count
        } else if !force && !(pending.isEmpty && failed.isEmpty) {
            throw SignOutError.writesPending(pending: pending.count, failed: failed.count)
        }
        let aside = paths.signOutAside()
        do {
            try DurableFile.move(paths.root, to: aside)
        } catch {
            throw StoreError.from(error, writing: paths.root)
        }
        try finishInterrupted(paths)
        return Result(removed: true, exported: exported, plantedLockLink: nil)
    }

    /// Deletes a root that sign-out renamed aside but had no time to delete.
    public static func finishInterrupted(_ paths: CachePaths) throws {
        let parent = paths.root.deletingLastPathComponent()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for name in names where name.hasPrefix(paths.signOutPrefix) {
            let leftover = parent.appendingPathComponent(name)
            do { try FileManager.default.removeItem(at: leftover) } catch {
                throw StoreError.writeFailed(
                    path: leftover.path, reason: "could not finish deleting a signed-out cache")
            }
        }
    }

    /// Refuses an export path inside the cache (it would be wiped with it) or where something already is, unless
    /// it is a regular file and `overwrite` was asked for.
    static func checkExportPath(_ export: Export, root: URL) throws {
        if Staging.isSameOrInside(export.file, root) { throw SignOutError.exportInsideCache(path: export.file.path) }
        guard let status = try CacheRoot.statusOf(export.file) else { return }
        let what =
            status.isSymbolicLink
            ? "a symbolic link"
            : status.isDirectory
                ? "a folder"
                : status.isRegularFile ? "a file" : "a device or other special file"
        if !(status.isRegularFile && export.overwrite) {
            throw SignOutError.exportExists(path: export.file.path, what: what)
        }
    }
}
