import Foundation

/// `b1cache backup DEST` (SPEC §6, §11): a consistent copy of the cache, checked with `verify`.
///
/// ```swift
/// let result = try Backup.run(paths: paths, to: URL(fileURLWithPath: "/backups/b1-2026-11-22"), wait: false)
/// if !result.problems.isEmpty { /* the copy is there, but verify found problems in it */ }
/// ```
///
/// The copy is made under the cache lock, so no flush or sync changes envelopes, the manifest or the history
/// meanwhile; writes queued meanwhile are handled by `CacheCopy`. It is built in a hidden sibling of the
/// destination, made durable, and renamed into place last: a backup killed at any moment leaves no destination
/// at all (only the hidden sibling, which the next backup to the same destination removes), never a half one.
public enum Backup {
    /// What a backup made.
    public struct Result: Sendable {
        /// The folder the copy is in.
        public var destination: URL
        /// Files copied.
        public var files: Int
        /// Bytes copied.
        public var bytes: Int64
        /// Entries not copied (symbolic links, special files), each with the reason.
        public var skipped: [String]
        /// What `verify` found in the copy; empty when it is a valid cache.
        public var problems: [VerifyProblem]
    }

    /// Copies the cache at `paths` to `destination`, then verifies the copy.
    /// - Parameters:
    ///   - destination: must not exist, or be an empty folder; its parent must exist; not inside the cache.
    ///   - wait: wait for a flush or sync holding the lock instead of failing with `LockError.busy`.
    /// - Throws: `BackupError` (nothing written), `LockError`, `StoreError` on I/O failures (the partial copy is
    ///   removed).
    /// - Important: blocks on the lock (with `wait`), on reading and fsyncing every file, and on parsing every
    ///   file of the copy.
    public static func run(paths: CachePaths, to destination: URL, wait: Bool) throws -> Result {
        guard try CacheRoot.check(paths.root) else { throw BackupError.nothingToBackUp(root: paths.root.path) }
        let destination = destination.standardizedFileURL
        try checkDestination(destination, root: paths.root)
        let copied = try CacheLock(paths: paths, command: "backup").withLock(wait: wait) {
            try sweepLeftovers(of: destination)
            let staging = CachePaths.backupStaging(for: destination, .current())
            let copied = try Staging.copy(paths, into: staging)
            try Staging.moveIntoPlace(staging, at: destination)
            return copied
        }
        let problems = try Verifier(paths: CachePaths(root: destination), repair: false).run()
        return Result(
            destination: destination, files: copied.files, bytes: copied.bytes, skipped: copied.skipped,
            problems: problems)
    }

    /// Refuses a destination inside the cache, one that exists and is not an empty folder, or one whose parent is
    /// missing.
    static func checkDestination(_ destination: URL, root: URL) throws {
        if Staging.isSameOrInside(destination, root) {
            throw BackupError.destinationInsideCache(destination: destination.path, root: root.path)
        }
        if let status = try CacheRoot.statusOf(destination) {
            if status.isSymbolicLink {
                throw BackupError.destinationExists(path: destination.path, what: "is a symbolic link")
            }
            if !status.isDirectory { throw BackupError.destinationExists(path: destination.path, what: "is a file") }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: destination.path)) ?? ["?"]
            if !entries.isEmpty {
                throw BackupError.destinationExists(path: destination.path, what: "is a folder that is not empty")
            }
        }
        let parent = destination.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw BackupError.destinationParentMissing(path: parent.path)
        }
    }

    /// Removes the hidden copies of earlier backups to the same destination that were killed before their rename.
    static func sweepLeftovers(of destination: URL) throws {
        let parent = destination.deletingLastPathComponent()
        let prefix = CachePaths.backupStagingPrefix(for: destination)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let tag = ProcessTag(text: String(name.dropFirst(prefix.count))), !tag.isLive else { continue }
            let leftover = parent.appendingPathComponent(name)
            do { try FileManager.default.removeItem(at: leftover) } catch {
                throw StoreError.from(error, writing: leftover)
            }
        }
    }
}
