import Foundation

/// Safety checks and layout of a cache root (SPEC §2).
public enum CacheRoot {
    /// Checks that the root (if present) is a real folder owned by this user. Returns false when it does not exist.
    /// - Throws: `StoreError.rootIsSymbolicLink`, `.ownedByAnotherUser`, `.notADirectory`.
    @discardableResult
    public static func check(_ root: URL) throws -> Bool {
        let scope = checked?.path == root.path ? checked : nil
        if scope?.isKnownToExist == true { return true }  // checked already by this operation (`CheckedRoot`)
        guard let status = try statusOf(root) else { return false }
        if status.isSymbolicLink { throw StoreError.rootIsSymbolicLink(path: root.path) }
        try checkOwnedFolder(root, status)
        scope?.markExisting()
        return true
    }

    /// Checks a folder inside the root: present or not, never a link, never someone else's.
    /// - Throws: `StoreError.symbolicLink`, `.ownedByAnotherUser`, `.notADirectory`.
    static func checkFolder(_ folder: URL) throws {
        guard let status = try statusOf(folder) else { return }
        if status.isSymbolicLink { throw StoreError.symbolicLink(path: folder.path) }
        try checkOwnedFolder(folder, status)
    }

    private static func checkOwnedFolder(_ folder: URL, _ status: System.FileStatus) throws {
        if !status.isDirectory { throw StoreError.notADirectory(path: folder.path) }
        if status.ownerID != System.userID {
            throw StoreError.ownedByAnotherUser(path: folder.path, owner: status.ownerID)
        }
    }

    static func statusOf(_ url: URL) throws -> System.FileStatus? {
        do { return try System.status(url.path) } catch let error as SystemCallError {
            throw StoreError.unreadable(path: url.path, reason: error.reason)
        }
    }

    /// Creates the root (`0700`, parents too) and its folders if missing, after the safety checks. (A sign-out or
    /// restore that was interrupted is finished by `Cache` first, which is above this layer.)
    public static func prepare(_ paths: CachePaths) throws {
        if try !check(paths.root) {
            try createFolder(paths.root, withParents: true)
            excludeFromBackup(paths.root)
        }
        for folder in paths.folders {
            try checkFolder(folder)
            if try statusOf(folder) == nil { try createFolder(folder, withParents: false) }
        }
    }

    /// SPEC §2: on Apple platforms the cache lives in Application Support, excluded from iCloud/Time Machine
    /// backup (it is re-downloadable, and the pending writes are flushed, not restored onto another device).
    /// Best effort: a root that cannot be marked still works. Linux has no such attribute.
    static func excludeFromBackup(_ root: URL) {
        #if canImport(Darwin)
            var values = URLResourceValues()
            values.isExcludedFromBackup = true
            var url = root
            try? url.setResourceValues(values)
        #endif
    }

    /// Creates a folder `0700` whatever the umask (missing parents likewise).
    static func createFolder(_ folder: URL, withParents: Bool) throws {
        if withParents {
            let parent = folder.deletingLastPathComponent()
            if parent.path != folder.path, try statusOf(parent) == nil { try createFolder(parent, withParents: true) }
        }
        do {
            _ = try System.makeDirectory(folder.path, mode: mode_t(DurableFile.directoryMode))
        } catch let error as SystemCallError {
            throw StoreError.writeFailed(path: folder.path, reason: error.reason)
        }
    }

    /// Removes temp orphans left by crashed writers from every folder that receives durable writes.
    @discardableResult
    public static func sweepOrphans(_ paths: CachePaths) throws -> [URL] {
        var removed: [URL] = []
        for folder in [paths.root, paths.collections, paths.queue, paths.queueStaging, paths.failed] {
            do {
                removed += try DurableFile.sweepOrphans(in: folder).map { folder.appendingPathComponent($0) }
            } catch {
                throw StoreError.from(error, writing: folder)
            }
        }
        return removed
    }
}
