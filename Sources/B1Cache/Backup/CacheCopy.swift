import Foundation

/// Copies a cache folder into a new folder, for backup and restore.
///
/// What is left out: `flush.lock/` (a copy must not look locked), the contents of `queue/.tmp/` and every temp name
/// (`.b1tmp-…`, `.dat.nosync…`): they are writes in progress, never data. Symbolic links and other special files
/// are left out too and reported (b1cache never follows a link, so none holds data it reads).
///
/// Every file is created `0600` and every folder `0700` whatever the umask, each file fsynced as it is written and
/// each folder once all its entries are in, so the copy is durable before the caller renames it into place.
///
/// Enqueue, retry and drop take no lock, so `queue/` and `failed/` may change while the copy runs. Write files are
/// created whole by a rename and never rewritten by those commands, so each file copied is whole; to make the set
/// of files consistent too, both folders are listed again after the copy until a listing matches what was copied
/// (new files copied, vanished ones removed from the copy).
struct CacheCopy {
    struct Result: Sendable, Equatable {
        var files = 0
        var bytes: Int64 = 0
        /// Paths (relative to the source) that were not copied, each with the reason.
        var skipped: [String] = []
    }

    let source: CachePaths
    /// Must not exist; created by `run`.
    let destination: URL
    /// How many times to list `queue/` and `failed/` again at most; each round takes a few directory listings.
    var maximumRounds = 200

    /// Copies. On failure the partial destination is left for the caller to remove.
    /// - Throws: `StoreError.unreadable` naming the source path, `.writeFailed` naming the destination path.
    func run() throws -> Result {
        var result = Result()
        var folders: [URL] = []
        try makeFolder(destination, &folders)
        try copyFolder(relative: "", &result, &folders)
        try settleVolatileFolders(&result)
        // Children before parents, so that once the top folder's fsync returns, the whole tree is durable.
        for folder in folders.reversed() {
            do { try System.fsyncDirectory(folder.path) } catch { throw StoreError.from(error, writing: folder) }
        }
        return result
    }

    /// The folders whose files may come and go while the copy runs (relative to the root).
    private var volatileFolders: [String] { ["queue", "failed"] }

    private func copyFolder(relative: String, _ result: inout Result, _ folders: inout [URL]) throws {
        let from = url(source.root, relative)
        for name in try names(in: from) {
            let path = relative.isEmpty ? name : relative + "/" + name
            let item = url(source.root, path)
            // The queue index describes the source's queue/, not the copy's (FORMATS.md §5): the copy writes its own.
            if DurableFile.isTempName(name) || item.path == source.lock.path || item.path == source.queueIndex.path {
                continue
            }
            guard let status = try CacheRoot.statusOf(item) else { continue }  // removed meanwhile
            if status.isSymbolicLink {
                result.skipped.append("\(path) (a symbolic link)")
            } else if status.isDirectory {
                try makeFolder(url(destination, path), &folders)
                // The staging folder's entries are writes being created: copied whole once renamed into queue/.
                if item.path != source.queueStaging.path { try copyFolder(relative: path, &result, &folders) }
            } else if status.isRegularFile {
                try copyFile(path, &result)
            } else {
                result.skipped.append("\(path) (not a regular file or folder)")
            }
        }
    }

    /// Lists `queue/` and `failed/` again until a listing shows exactly the files copied.
    private func settleVolatileFolders(_ result: inout Result) throws {
        for _ in 0..<maximumRounds {
            var changed = false
            for folder in volatileFolders {
                guard try CacheRoot.statusOf(url(destination, folder))?.isDirectory == true else { continue }
                let now = Set(try regularFiles(in: url(source.root, folder)))
                let copied = Set(try regularFiles(in: url(destination, folder)))
                for name in now.subtracting(copied).sorted() {
                    try copyFile(folder + "/" + name, &result)
                    changed = true
                }
                for name in copied.subtracting(now) {
                    let gone = url(destination, folder + "/" + name)
                    let size = try CacheRoot.statusOf(gone)?.size ?? 0
                    do { try System.removeFile(gone.path) } catch { throw StoreError.from(error, writing: gone) }
                    result.files -= 1
                    result.bytes -= size
                    changed = true
                }
            }
            if !changed { return }
        }
    }

    private func copyFile(_ path: String, _ result: inout Result) throws {
        let from = url(source.root, path), to = url(destination, path)
        do {
            result.bytes += try System.copyFile(from.path, to: to.path, mode: mode_t(DurableFile.fileMode))
            result.files += 1
        } catch let error as SystemCallError where error.isNotFound && error.path == from.path {
            return  // superseded, dropped or retried since the listing: the next listing no longer shows it
        } catch let error as SystemCallError where error.path == from.path {
            throw StoreError.unreadable(path: from.path, reason: error.reason)
        } catch {
            throw StoreError.from(error, writing: to)
        }
    }

    private func makeFolder(_ folder: URL, _ folders: inout [URL]) throws {
        do { _ = try System.makeDirectory(folder.path, mode: mode_t(DurableFile.directoryMode)) } catch {
            throw StoreError.from(error, writing: folder)
        }
        folders.append(folder)
    }

    private func names(in folder: URL) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() } catch {
            if try CacheRoot.statusOf(folder) == nil { return [] }
            throw StoreError.unreadable(path: folder.path, reason: "cannot list the folder")
        }
    }

    /// Names of the regular files in a folder, hidden ones (staging, temps) excepted.
    private func regularFiles(in folder: URL) throws -> [String] {
        try names(in: folder).filter { name in
            guard !name.hasPrefix(".") else { return false }
            return try CacheRoot.statusOf(folder.appendingPathComponent(name))?.isRegularFile == true
        }
    }

    private func url(_ base: URL, _ relative: String) -> URL {
        relative.isEmpty ? base : base.appendingPathComponent(relative)
    }
}
