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
struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call that failed (`open`, `rename`, …).
    var operation: String
    /// The path it was about.
    var path: String
    /// The errno value.
    var code: Int32

    /// The errno's sentence (`No space left on device`).
    var reason: String { String(cString: strerror(code)) }
    /// True when the failure means the disk (or quota) is full.
    var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }
    /// The path does not exist.
    var isNotFound: Bool { code == ENOENT }
    /// Permission denied, or a read-only filesystem.
    var isPermissionDenied: Bool { code == EACCES || code == EPERM || code == EROFS }
    /// True when `readFile` found a symbolic link where the file should be (it never follows one).
    var isSymbolicLink: Bool { code == ELOOP }
    /// True when `readFile` found a folder, pipe or device where a regular file should be.
    var isNotARegularFile: Bool { code == EISDIR }
    /// True when `readFile` refused a file larger than its limit.
    var isTooLarge: Bool { code == EFBIG }
    /// `rename /path: reason`.
    var description: String { "\(operation) \(path): \(reason)" }
}

/// Thin, named wrappers around the system calls b1cache needs.
enum System {
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
        SystemCallLog.record("create", path)
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
        SystemCallLog.record("write", path)
    }

    static func fsyncDescriptor(_ fd: Int32, path: String) throws {
        if fsync(fd) != 0 { throw lastError("fsync", path) }
        SystemCallLog.record("fsync", path)
    }

    static func closeDescriptor(_ fd: Int32) { close(fd) }

    /// fsync of a directory makes a rename or unlink in it durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw lastError("open directory", path) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw lastError("fsync directory", path) }
        SystemCallLog.record("fsync-dir", path)
    }

    static func renameItem(_ source: String, _ destination: String) throws {
        if rename(source, destination) != 0 { throw lastError("rename", source) }
        SystemCallLog.record("rename", source, destination)
    }

    static func removeFile(_ path: String) throws {
        if unlink(path) != 0 {
            if errno == ENOENT { return }
            throw lastError("remove", path)
        }
        SystemCallLog.record("unlink", path)
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws -> Bool {
        if mkdir(path, mode) != 0 {
            if errno == EEXIST { return false }
            throw lastError("create directory", path)
        }
        if chmod(path, mode) != 0 { throw lastError("chmod", path) }
        SystemCallLog.record("mkdir", path)
        return true
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        if chmod(path, mode) != 0 { throw lastError("chmod", path) }
    }

    /// What lstat(2) says of a path, or nil when nothing is there.
    struct FileStatus: Sendable {
        var isSymbolicLink: Bool
        var isDirectory: Bool
        var isRegularFile: Bool
        var ownerID: UInt32
        var mode: UInt32
        var size: Int64
        var modified: Date
        /// The modification time in whole nanoseconds since 1970, exact (for telling two states of a folder apart).
        var modifiedNanoseconds: Int64 = 0
    }

    static func status(_ path: String) throws -> FileStatus? {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw lastError("stat", path)
        }
        let type = info.st_mode & S_IFMT
        #if canImport(Darwin)
            let time = info.st_mtimespec
        #else
            let time = info.st_mtim
        #endif
        let seconds = Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        return FileStatus(
            isSymbolicLink: type == S_IFLNK, isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG,
            ownerID: UInt32(info.st_uid), mode: UInt32(info.st_mode & 0o7777), size: Int64(info.st_size),
            modified: Date(timeIntervalSince1970: seconds),
            modifiedNanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec))
    }

    /// Reads a whole regular file without following a symbolic link (a link planted in the cache must not make
    /// b1cache read, or later overwrite, a file outside it). Refuses files larger than `limit` bytes, and anything
    /// that is not a regular file: `O_NONBLOCK` keeps a named pipe planted in the cache from blocking the open.
    static func readFile(_ path: String, limit: Int = Int.max) throws -> Data {
        try readRegularFile(path) { size in
            if size > limit { throw SystemCallError(operation: "read", path: path, code: EFBIG) }
            return 0..<size
        }
    }

    /// Reads the bytes `range` picks of a regular file's size (never through a symbolic link; the file may
    /// shrink meanwhile, then less is returned).
    private static func readRegularFile(_ path: String, range: (Int) throws -> Range<Int>) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            if errno == ELOOP { throw SystemCallError(operation: "open", path: path, code: ELOOP) }
            throw lastError("open", path)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw lastError("stat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SystemCallError(operation: "read", path: path, code: EISDIR)
        }
        let wanted = try range(Int(info.st_size))
        var data = Data(count: wanted.count)
        var total = 0
        try data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            while total < wanted.count {
                let count = pread(fd, base + total, wanted.count - total, off_t(wanted.lowerBound + total))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw lastError("read", path)
                }
                if count == 0 { break }
                total += count
            }
        }
        if total < wanted.count { data.count = total }
        return data
    }

    /// Copies the regular file at `source` (never through a symbolic link) into a new file `destination`, created
    /// exclusively with `mode` whatever the umask, and fsyncs the copy. Streams in 1 MiB pieces, so a large
    /// envelope is never held in memory whole. Returns the bytes copied.
    /// - Throws: `SystemCallError`; `isNotFound` when `source` is gone (it may have been removed meanwhile).
    static func copyFile(_ source: String, to destination: String, mode: mode_t) throws -> Int64 {
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if input < 0 { throw lastError("open", source) }
        defer { close(input) }
        var info = stat()
        if fstat(input, &info) != 0 { throw lastError("stat", source) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SystemCallError(operation: "copy", path: source, code: EISDIR)
        }
        let output = try createExclusive(destination, mode: mode)
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw lastError("read", source)
            }
            if count == 0 { break }
            try writeAll(output, Data(buffer[0..<count]), path: destination)
            total += Int64(count)
        }
        try fsyncDescriptor(output, path: destination)
        return total
    }

    static var userID: UInt32 { UInt32(getuid()) }
    /// This process's id.
    static var processID: Int32 { getpid() }

    /// True when a process with this pid exists (EPERM means it exists but belongs to someone else).
    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Whether the descriptor is a terminal.
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The first of `names` that the dynamic loader can open (one already loaded is shared, not loaded again), or
    /// nil when none can be.
    static func openLibrary(_ names: [String]) -> UnsafeMutableRawPointer? {
        for name in names {
            if let library = dlopen(name, RTLD_NOW | RTLD_LOCAL) { return library }
        }
        return nil
    }

    /// The address of the C function `name` in a library from `openLibrary`, or nil when it has none.
    static func symbol(_ name: String, in library: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        dlsym(library, name)
    }

    /// The system's sentence for an errno value ("No space left on device").
    static func errorDescription(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Opens `/dev/null` onto each of the descriptors 0, 1 and 2 that is not open, and returns those that were not.
    ///
    /// - Important: Call it first thing in `main`, before anything opens a file. A process started with `>&-` has no
    ///   descriptor 1, so the next file it opens gets number 1 — libdispatch's epoll, or a cache file — and
    ///   everything printed would go into it.
    static func openNullOnClosedStandardStreams() -> Set<Int32> {
        var closed: Set<Int32> = []
        for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            closed.insert(descriptor)
            // The lowest free number is taken, so this is `descriptor` itself (those below it are open by now).
            let null = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0 && null != descriptor {
                dup2(null, descriptor)
                close(null)
            }
        }
        return closed
    }

    /// A write to a pipe whose reader has gone then fails with EPIPE instead of killing the process, so a command
    /// that prints into `| head -1` still finishes what it was doing (a flush removes what the server acknowledged)
    /// and then says the output could not be written.
    static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// The signals a long-running command (`watch`) stops on. Their default action is turned off so that a
    /// `DispatchSource` signal source receives them instead (it sees a signal only when its action is ignore).
    static let stopSignals: [Int32] = [SIGINT, SIGTERM]

    /// Ignores `signals` (their default action would end the process at once, without releasing anything).
    static func ignoreSignals(_ signals: [Int32]) {
        for number in signals { signal(number, SIG_IGN) }
    }

    static func currentUmask() -> mode_t {
        let old = umask(0o022)
        umask(old)
        return old
    }
    // MARK: Lock support (SPEC §6)

    /// Reads a small file whose size `stat` does not report, such as those under /proc (which claim size 0, so
    /// `readFile` would return nothing). Reads until end of file, at most `limit` bytes.
    static func readUntilEnd(_ path: String, limit: Int = 64 * 1024) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw lastError("open", path) }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while data.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw lastError("read", path)
            }
            if count == 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        return data
    }

    /// When the process `pid` started, as an opaque string that differs between two processes that had the same
    /// pid; nil when the process is gone or the system will not say.
    ///
    /// Linux: field 22 of `/proc/PID/stat`, clock ticks since boot (so only meaningful together with `bootID`).
    /// Darwin: `kp_proc.p_starttime` from sysctl `KERN_PROC_PID`, seconds and microseconds since the epoch.
    static func processStartTime(_ pid: Int32) -> String? {
        guard pid > 0 else { return nil }
        #if canImport(Darwin)
            var info = kinfo_proc()
            var size = MemoryLayout<kinfo_proc>.stride
            var name: [Int32] = [CTL_KERN, KERN_PROC, KERN_PROC_PID, pid]
            guard sysctl(&name, 4, &info, &size, nil, 0) == 0, size > 0 else { return nil }
            let start = info.kp_proc.p_un.__p_starttime
            return "\(start.tv_sec).\(start.tv_usec)"
        #else
            guard let data = try? readUntilEnd("/proc/\(pid)/stat") else { return nil }
            let text = String(decoding: data, as: UTF8.self)
            // Field 2 is the command name in parentheses and may itself hold spaces or ')', so count from the last ')'.
            guard let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
            let index = 22 - 3  // fields[0] is field 3 (state)
            guard fields.count > index, UInt64(fields[index]) != nil else { return nil }
            return String(fields[index])
        #endif
    }

    /// An id of the current boot, so a pid recorded before a reboot is not mistaken for one after it; nil when the
    /// system has none (Linux: `/proc/sys/kernel/random/boot_id`; Darwin: `kern.bootsessionuuid`).
    static func bootID() -> String? {
        #if canImport(Darwin)
            var size = 0
            guard sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0) == 0, size > 0 else { return nil }
            var buffer = [CChar](repeating: 0, count: size)
            guard sysctlbyname("kern.bootsessionuuid", &buffer, &size, nil, 0) == 0 else { return nil }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #else
            guard let data = try? readUntilEnd("/proc/sys/kernel/random/boot_id", limit: 256) else { return nil }
            let text = String(decoding: data, as: UTF8.self)
        #endif
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Nanoseconds of a clock that never jumps and is shared by every process on the machine (CLOCK_MONOTONIC),
    /// so marks written by different processes can be compared.
    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Appends `line` to the file at `path` (created `0600` if missing) in a single `write` on an `O_APPEND`
    /// descriptor, so lines appended by many processes at once interleave whole, never torn.
    static func appendLine(_ line: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode_t(0o600))
        if fd < 0 { throw lastError("open", path) }
        defer { close(fd) }
        let bytes = Array((line.hasSuffix("\n") ? line : line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count { throw lastError("append", path) }
    }

    /// Outcome of trying to take an advisory lock.
    enum AdvisoryLock {
        /// Locked; close the descriptor to unlock.
        case locked(descriptor: Int32)
        /// Another open file holds it.
        case held
        /// The file system does not do `flock` (some network file systems).
        case unsupported
    }

    /// Tries, without blocking, to take an exclusive `flock` on `path` (a file or a folder) through a descriptor
    /// of its own, so two threads of one process exclude each other as two processes do. The kernel drops the
    /// lock when the descriptor is closed or the process dies, so it can never be left stale.
    static func tryExclusiveLock(_ path: String) throws -> AdvisoryLock {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw lastError("open", path) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { return .held }
            if code == ENOLCK || code == EOPNOTSUPP || code == ENOSYS { return .unsupported }
            throw SystemCallError(operation: "lock", path: path, code: code)
        }
        return .locked(descriptor: fd)
    }
}

/// Test seam: a record of the calls that make a file durable, in the order they returned.
///
/// A SIGKILL keeps the page cache, so no crash test can see a missing fsync; this record can. When the environment
/// variable `B1CACHE_SYSCALL_LOG` names a file, every successful create, write (of a whole buffer), fsync, fsync of
/// a folder, rename, unlink and mkdir above appends one line `<pid> TAB <call> TAB <path> [TAB <destination>]` to
/// it (`O_APPEND`, one write(2) per line, so lines of concurrent processes do not interleave). Unset, each call
/// costs one check of a constant. `DurableWriteTests` reads it to check the order `DurableFile` promises.
enum SystemCallLog {
    /// The log's descriptor, opened on first use; nil when the variable is unset or the file cannot be opened.
    private static let descriptor: Int32? = {
        guard let path = ProcessInfo.processInfo.environment["B1CACHE_SYSCALL_LOG"], !path.isEmpty else { return nil }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        return fd < 0 ? nil : fd
    }()

    static func record(_ call: String, _ path: String, _ destination: String? = nil) {
        guard let fd = descriptor else { return }
        var line = "\(getpid())\t\(call)\t\(path)"
        if let destination { line += "\t\(destination)" }
        line += "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }
}

extension System {
    /// Runs `body` holding an exclusive `flock` on the folder at `path`, waiting for it. The kernel drops the lock
    /// when the descriptor closes or the process dies, so it is never left stale. A file system without `flock`
    /// runs `body` without it.
    static func withFolderLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)
        if fd < 0 { throw lastError("open", path) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == ENOLCK || code == EOPNOTSUPP || code == ENOSYS { break }
            throw SystemCallError(operation: "lock", path: path, code: code)
        }
        return try body()
    }

    /// The last `count` bytes (or fewer) of a regular file, never through a symbolic link.
    static func readTail(_ path: String, count: Int) throws -> Data {
        try readRegularFile(path) { size in max(0, size - count)..<size }
    }

    /// Appends `data` to an existing regular file with one `write(2)` (`O_APPEND`, never through a symbolic link,
    /// no fsync); false when there is no file to append to.
    static func appendToExisting(_ data: Data, at path: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            if errno == ENOENT { return false }
            throw lastError("open", path)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw lastError("stat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SystemCallError(operation: "write", path: path, code: EISDIR)
        }
        try writeAll(fd, data, path: path)
        return true
    }

    /// The names in a folder, as `readdir(3)` gives them (no `.` and `..`), without a `URL` or attributes for each.
    static func folderNames(_ path: String) throws -> [String] {
        guard let folder = opendir(path) else { throw lastError("list", path) }
        defer { closedir(folder) }
        var names: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
