import Foundation

/// `b1cache restore SRC`: replaces the cache with a copy of a backup, atomically from a reader's point of view.
///
/// Order, and what a crash at each step leaves (the next run finishes or undoes it, `finishInterrupted`):
/// 1. verify SRC (nothing written yet);
/// 2. under the cache lock, refuse when the cache has pending or failed writes, unless `force`;
/// 3. copy SRC to `.<root>.restoring-<tag>` beside the root, durably. A crash leaves that copy: it is deleted,
///    and the old cache stays;
/// 4. rename the root to `.<root>.restore-old-<tag>`, then the copy to the root, and fsync the parent. A crash
///    between the two renames leaves no root: the next run renames the (complete) copy into place;
/// 5. delete the old root. A crash leaves it aside: the next run deletes it.
public enum Restore {
    /// What a restore did.
    public struct Result: Sendable {
        /// The backup restored from.
        public var source: URL
        /// The cache folder it now fills.
        public var root: URL
        /// Files copied.
        public var files: Int
        /// Bytes copied.
        public var bytes: Int64
        /// False when there was no cache to replace.
        public var replaced: Bool
        /// Writes of the replaced cache that were discarded (only with `force`).
        public var lostPending: Int
        /// Failed writes of the replaced cache that were discarded (only with `force`).
        public var lostFailed: Int
    }

    /// `verify` problems in a source that the copy itself puts right, so they do not make the source invalid:
    /// modes (the copy is written 0600/0700 and owned by this user) and temp files (never copied).
    static let problemsTheCopyRepairs: Set<VerifyProblem.Kind> = [.wrongMode, .strayTemp, .staleLock]

    /// Replaces the cache at `paths` with a copy of the cache folder `source`.
    /// - Parameters:
    ///   - force: discard the cache's pending and failed writes.
    ///   - wait: wait for a flush or sync holding the lock instead of failing with `LockError.busy`.
    /// - Throws: `BackupError` (nothing changed), `LockError`, `StoreError` on I/O failures (the old cache stays).
    /// - Important: blocks on parsing every file of `source`, on the lock (with `wait`), and on copying and
    ///   fsyncing every file.
    public static func run(paths: CachePaths, from source: URL, force: Bool, wait: Bool) throws -> Result {
        let source = source.standardizedFileURL
        try checkSource(source, root: paths.root)
        // The folder it replaces must be a cache (or missing, or empty): never a project folder given by mistake.
        try CacheFolder.requireCache(paths, toAct: "replace")
        let problems = try Verifier(paths: CachePaths(root: source), repair: false).run()
            .filter { !problemsTheCopyRepairs.contains($0.kind) }
        guard problems.isEmpty else {
            throw BackupError.invalidSource(
                path: source.path,
                problems: problems.map { "\($0.kind.rawValue)  \($0.path): \($0.detail)" })
        }
        let tag = ProcessTag.current()
        let staging = paths.restoreStaging(tag)
        guard try CacheRoot.check(paths.root) else {
            // Nothing to replace (a new machine): no lock to take, since the lock lives in the root.
            let parent = paths.root.deletingLastPathComponent()
            if try CacheRoot.statusOf(parent) == nil { try CacheRoot.createFolder(parent, withParents: true) }
            let copied = try Staging.copy(CachePaths(root: source), into: staging)
            try Staging.moveIntoPlace(staging, at: paths.root)
            return Result(
                source: source, root: paths.root, files: copied.files, bytes: copied.bytes, replaced: false,
                lostPending: 0, lostFailed: 0)
        }
        return try CacheLock(paths: paths, command: "restore").withLock(wait: wait) {
            let before = try writeFiles(paths)
            if !force && !before.isEmpty {
                throw BackupError.writesWouldBeLost(pending: before.pending.count, failed: before.failed.count)
            }
            let copied = try Staging.copy(CachePaths(root: source), into: staging)
            let aside = paths.restoreAside(tag)
            do {
                try System.renameItem(paths.root.path, aside.path)
            } catch {
                Staging.discard(staging)
                throw StoreError.from(error, writing: paths.root)
            }
            // Enqueue, retry and drop take no lock: a write queued while the copy ran is in the old root. Without
            // force, put the old root back rather than lose a write nobody agreed to lose.
            let after = try writeFiles(CachePaths(root: aside))
            if !force && !after.isEmpty {
                do { try System.renameItem(aside.path, paths.root.path) } catch {
                    throw StoreError.from(error, writing: paths.root)
                }
                Staging.discard(staging)
                throw BackupError.writesWouldBeLost(pending: after.pending.count, failed: after.failed.count)
            }
            do { try Staging.moveIntoPlace(staging, at: paths.root) } catch {
                try? System.renameItem(aside.path, paths.root.path)  // the old cache back; else the next run decides
                throw error
            }
            Staging.discard(aside)
            return Result(
                source: source, root: paths.root, files: copied.files, bytes: copied.bytes, replaced: true,
                lostPending: after.pending.count, lostFailed: after.failed.count)
        }
    }

    /// The names of the write files of a cache.
    private static func writeFiles(_ paths: CachePaths) throws -> (pending: [String], failed: [String], isEmpty: Bool) {
        let queue = WriteQueue(paths: paths)
        let pending = try queue.pendingEntries().map(\.fileName), failed = try queue.failedEntries().map(\.fileName)
        return (pending, failed, pending.isEmpty && failed.isEmpty)
    }

    /// Refuses a source that is missing, overlaps the cache, or is not a cache folder (`CacheFolder`).
    static func checkSource(_ source: URL, root: URL) throws {
        guard let status = try CacheRoot.statusOf(source), status.isDirectory else {
            throw BackupError.sourceMissing(path: source.path)
        }
        if Staging.isSameOrInside(source, root) || Staging.isSameOrInside(root, source) {
            throw BackupError.sourceOverlapsCache(source: source.path, root: root.path)
        }
        switch try CacheFolder.classify(CachePaths(root: source)) {
        case .cache: return
        case .missing, .empty: throw BackupError.sourceNotACache(path: source.path, entries: [])
        case .foreign(let entries): throw BackupError.sourceNotACache(path: source.path, entries: entries)
        }
    }
}
