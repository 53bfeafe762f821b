import Foundation

/// The one way b1cache writes a file that must survive a crash.
///
/// Durability rule, enforced here and nowhere else: write to a hidden temp name in a staging folder on the same
/// filesystem, fsync the file, rename it over the destination, then fsync the destination's directory. A crash
/// at any point leaves either the old file or the whole new one — never a torn file — and once this returns,
/// the new file survives power loss. Foundation's `.atomic` write does not fsync the directory and leaves
/// `.dat.nosync*` orphans on Linux, and `FileManager.replaceItemAt` destroys the new file on Linux (Swift 6.3),
/// so neither is used. Modes are set explicitly because open(2) applies the umask.
enum DurableFile {
    /// Files are private to the user, whatever the umask (SPEC §2).
    static let fileMode: UInt32 = 0o600
    /// Directories likewise.
    static let directoryMode: UInt32 = 0o700
    /// Temp names start with this prefix and carry the writer's pid, so a sweep can tell orphans from the
    /// files of a writer that is still running.
    static let tempPrefix = ".b1tmp-"

    /// Writes `data` to `destination` durably.
    /// - Parameters:
    ///   - staging: the folder for the temp file (same filesystem); by default the destination's folder.
    /// - Throws: `SystemCallError` naming the path that failed; the destination is then unchanged.
    /// - Important: blocks on two fsyncs.
    static func write(_ data: Data, to destination: URL, staging: URL? = nil) throws {
        try writeStreaming(to: destination, staging: staging) { append in try data.withUnsafeBytes { try append($0) } }
    }

    /// Writes a file durably from bytes produced in pieces, so a large file is never held whole in memory:
    /// `produce` is handed a function that appends to the temp file. The rule of `write` holds for the whole file
    /// (temp name, fsync, rename, fsync of the folder): if `produce` or a write throws, the temp file is removed
    /// and the destination is unchanged. Returns the file's size.
    /// - Important: blocks on two fsyncs.
    @discardableResult
    static func writeStreaming(
        to destination: URL, staging: URL? = nil,
        _ produce: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Int {
        let folder = destination.deletingLastPathComponent()
        var size = 0
        let temp = try writeTemp(in: staging ?? folder, name: destination.lastPathComponent) { fd, path in
            try produce { bytes in
                guard let base = bytes.baseAddress, bytes.count > 0 else { return }
                try System.writeAll(
                    fd,
                    Data(
                        bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count,
                        deallocator: .none), path: path)
                size += bytes.count
            }
        }
        do {
            try System.renameItem(temp.path, destination.path)
        } catch {
            try? System.removeFile(temp.path)
            throw error
        }
        try System.fsyncDirectory(folder.path)
        return size
    }

    /// Writes several files, then fsyncs each destination folder once (the batched form of `write`).
    /// Files are renamed in the order given; on a failure the files already renamed stay, the rest do not appear.
    static func writeAll(_ files: [(data: Data, destination: URL)], staging: URL) throws {
        var temps: [URL] = []
        do {
            for file in files {
                temps.append(try writeTemp(file.data, in: staging, name: file.destination.lastPathComponent))
            }
            for (temp, file) in zip(temps, files) {
                try System.renameItem(temp.path, file.destination.path)
            }
        } catch {
            for temp in temps { try? System.removeFile(temp.path) }
            throw error
        }
        var folders: [String] = []
        for file in files {
            let folder = file.destination.deletingLastPathComponent().path
            if !folders.contains(folder) { folders.append(folder) }
        }
        for folder in folders { try System.fsyncDirectory(folder) }
    }

    /// Removes a file durably (the unlink is made to survive a crash by fsyncing its folder).
    static func remove(_ url: URL) throws {
        try System.removeFile(url.path)
        try System.fsyncDirectory(url.deletingLastPathComponent().path)
    }

    /// Moves a file or a whole folder durably: one rename, then an fsync of the destination's folder and, when it
    /// is another one, of the source's, so the rename survives power loss (sign-out's and restore's swaps of the
    /// root, quarantine, a backup renamed into place).
    static func move(_ source: URL, to destination: URL) throws {
        try System.renameItem(source.path, destination.path)
        let from = source.deletingLastPathComponent().path, to = destination.deletingLastPathComponent().path
        try System.fsyncDirectory(to)
        if from != to { try System.fsyncDirectory(from) }
    }

    private static func writeTemp(_ data: Data, in folder: URL, name: String) throws -> URL {
        try writeTemp(in: folder, name: name) { fd, path in try System.writeAll(fd, data, path: path) }
    }

    /// Creates the hidden temp file (`O_EXCL`, mode 0600), lets `fill` write it, and fsyncs it; on any failure the
    /// temp file is removed.
    private static func writeTemp(in folder: URL, name: String, _ fill: (Int32, String) throws -> Void) throws -> URL {
        let temp = folder.appendingPathComponent(
            "\(tempPrefix)\(System.processID)-\(UUID().uuidString.prefix(8))-\(name)", isDirectory: false)
        let fd = try System.createExclusive(temp.path, mode: mode_t(fileMode))
        do {
            try fill(fd, temp.path)
            try System.fsyncDescriptor(fd, path: temp.path)
            System.closeDescriptor(fd)
        } catch {
            System.closeDescriptor(fd)
            try? System.removeFile(temp.path)
            throw error
        }
        return temp
    }

    /// True for a name this helper uses for temp files, or Foundation's own atomic-write orphans.
    static func isTempName(_ name: String) -> Bool {
        name.hasPrefix(tempPrefix) || name.hasPrefix(".dat.nosync")
    }

    /// The pid in a temp name, if it carries one.
    static func writerProcessID(ofTempName name: String) -> Int32? {
        guard name.hasPrefix(tempPrefix) else { return nil }
        return Int32(name.dropFirst(tempPrefix.count).prefix { $0 != "-" })
    }

    /// Removes temp orphans from `folder`: temp files whose writer process is gone, or that are older than
    /// `maximumAge` (a writer never holds one that long). Returns the names removed.
    @discardableResult
    static func sweepOrphans(in folder: URL, maximumAge: TimeInterval = 600) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            if !FileManager.default.fileExists(atPath: folder.path) { return [] }
            throw error
        }
        var removed: [String] = []
        for name in names where isTempName(name) {
            let path = folder.appendingPathComponent(name, isDirectory: false).path
            guard let status = try System.status(path), status.isRegularFile else { continue }
            let writerGone = writerProcessID(ofTempName: name).map { !System.processExists($0) } ?? true
            let tooOld = Date().timeIntervalSince(status.modified) > maximumAge
            let ownProcess = writerProcessID(ofTempName: name) == System.processID
            if (writerGone || tooOld) && !ownProcess {
                try System.removeFile(path)
                removed.append(name)
            }
        }
        if !removed.isEmpty { try System.fsyncDirectory(folder.path) }
        return removed
    }
}
