// The only file that talks to libc. Everything else speaks Foundation (STYLE: C interop in one place).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, with the path it concerned and the reason the system gave.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public var reason: String { String(cString: strerror(code)) }
    /// True when the failure means the disk (or quota) is full.
    public var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }
    public var isNotFound: Bool { code == ENOENT }
    public var isPermissionDenied: Bool { code == EACCES || code == EPERM || code == EROFS }
    public var description: String { "\(operation) \(path): \(reason)" }
}

/// Thin, named wrappers around the system calls b1cache needs.
public enum System {
    static func lastError(_ operation: String, _ path: String) -> SystemCallError {
        SystemCallError(operation: operation, path: path, code: errno)
    }

    /// Creates (exclusively) a file for writing with the given mode; the mode is then forced with fchmod
    /// because open(2) applies the umask.
    static func createExclusive(_ path: String, mode: mode_t) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 { throw lastError("create", path) }
        if fchmod(fd, mode) != 0 {
            let error = lastError("chmod", path)
            close(fd)
            throw error
        }
        return fd
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard var pointer = buffer.baseAddress else { return }
            var remaining = buffer.count
            while remaining > 0 {
                let written = write(fd, pointer, remaining)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw lastError("write", path)
                }
                pointer += written
                remaining -= written
            }
        }
    }

    static func fsyncDescriptor(_ fd: Int32, path: String) throws {
        if fsync(fd) != 0 { throw lastError("fsync", path) }
    }

    static func closeDescriptor(_ fd: Int32) { close(fd) }

    /// fsync of a directory makes a rename or unlink in it durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw lastError("open directory", path) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw lastError("fsync directory", path) }
    }

    static func renameItem(_ source: String, _ destination: String) throws {
        if rename(source, destination) != 0 { throw lastError("rename", source) }
    }

    static func removeFile(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw lastError("remove", path) }
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws -> Bool {
        if mkdir(path, mode) != 0 {
            if errno == EEXIST { return false }
            throw lastError("create directory", path)
        }
        if chmod(path, mode) != 0 { throw lastError("chmod", path) }
        return true
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        if chmod(path, mode) != 0 { throw lastError("chmod", path) }
    }

    /// What lstat(2) says of a path, or nil when nothing is there.
    public struct FileStatus: Sendable {
        var isSymbolicLink: Bool
        var isDirectory: Bool
        var isRegularFile: Bool
        var ownerID: UInt32
        var mode: UInt32
        var size: Int64
        var modified: Date
    }

    static func status(_ path: String) throws -> FileStatus? {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw lastError("stat", path)
        }
        let type = info.st_mode & S_IFMT
        #if canImport(Darwin)
        let seconds = Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        let seconds = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
        return FileStatus(
            isSymbolicLink: type == S_IFLNK, isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG,
            ownerID: UInt32(info.st_uid), mode: UInt32(info.st_mode & 0o7777), size: Int64(info.st_size),
            modified: Date(timeIntervalSince1970: seconds))
    }

    /// Reads a whole regular file without following a symbolic link (a link planted in the cache must not make
    /// b1cache read, or later overwrite, a file outside it). Refuses files larger than `limit` bytes.
    static func readFile(_ path: String, limit: Int = Int.max) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ELOOP { throw SystemCallError(operation: "open", path: path, code: ELOOP) }
            throw lastError("open", path)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw lastError("stat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SystemCallError(operation: "read", path: path, code: EISDIR) }
        let expected = Int(info.st_size)
        if expected > limit { throw SystemCallError(operation: "read", path: path, code: EFBIG) }
        var data = Data(count: expected)
        var total = 0
        try data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            while total < expected {
                let count = read(fd, base + total, expected - total)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw lastError("read", path)
                }
                if count == 0 { break }
                total += count
            }
        }
        if total < expected { data.count = total }
        return data
    }

    static var userID: UInt32 { UInt32(getuid()) }
    public static var processID: Int32 { getpid() }

    /// True when a process with this pid exists (EPERM means it exists but belongs to someone else).
    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    static func currentUmask() -> mode_t {
        let old = umask(0o022)
        umask(old)
        return old
    }
}
