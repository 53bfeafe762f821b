import Foundation

/// The cache lock of SPEC §6: one process at a time may flush, sync, sign out or back up a cache.
///
/// ```swift
/// try CacheRoot.prepare(paths)
/// let report = try CacheLock(paths: paths, command: "flush").withLock(wait: waitFlag) {
///     try flusher.run()
/// }
/// ```
///
/// The lock is the directory `flush.lock/`, created with a single `mkdir` so that exactly one creator wins,
/// holding `owner.json` (`LockOwner`). While held, a background thread refreshes the owner's `heartbeatAt`
/// every `heartbeatInterval`. A lock left by a process that is gone, or whose heartbeat is older than `ttl`, is
/// stale: the first process to find it breaks it under a short break-lock (`BreakLock`), then everyone tries the
/// `mkdir` again, so the holder is whoever wins that, not necessarily the breaker.
///
/// Stress-test instrumentation: when the environment variable `B1CACHE_LOCK_LOG` names a file (or `eventLog` is
/// set), every acquisition appends `acquire <pid> <ns>` to it right after the lock is taken and
/// `release <pid> <ns>` right before it is given back, where `<ns>` is `System.monotonicNanoseconds()` (a clock
/// shared by all processes on the machine). Lines are appended with `O_APPEND`, one `write` each, so lines from
/// many processes never tear; a correct lock yields strictly alternating `acquire`/`release` lines.
public struct CacheLock: Sendable {
    /// The cache whose lock this is.
    public let paths: CachePaths
    /// The command recorded as owner, e.g. `flush`.
    public let command: String
    /// How old a heartbeat may get before the lock is stale.
    public let ttl: TimeInterval
    /// How long a lock directory without a readable owner.json counts as fresh.
    public let grace: TimeInterval
    /// Where to append acquire/release marks; by default `B1CACHE_LOCK_LOG`, nil when unset.
    public var eventLog: URL?
    /// How long a waiting acquirer sleeps between attempts; jittered so that waiters do not move in step.
    public var pollInterval: ClosedRange<TimeInterval> = 0.05...0.2

    /// How often the holder refreshes its heartbeat: a quarter of the TTL, and at least every 30 s (but not more
    /// often than every 50 ms, whatever the TTL).
    public var heartbeatInterval: TimeInterval { max(min(ttl / 4, 30), 0.05) }

    /// Describes the lock of one cache; nothing is read or written until it is used.
    /// - Parameters:
    ///   - command: recorded in owner.json and shown to whoever finds the lock held.
    ///   - ttl: the heartbeat age after which the lock is stale (SPEC §6: two minutes).
    ///   - grace: how long a lock directory without owner.json counts as fresh.
    public init(paths: CachePaths, command: String, ttl: TimeInterval = 120, grace: TimeInterval = 10) {
        self.paths = paths
        self.command = command
        self.ttl = ttl
        self.grace = grace
        eventLog = ProcessInfo.processInfo.environment["B1CACHE_LOCK_LOG"]
            .flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
    }

    /// Takes the lock, runs `body`, and gives the lock back, also when `body` throws.
    ///
    /// - Parameters:
    ///   - wait: when the lock is held and not stale, poll until it is free instead of failing at once.
    ///   - timeout: with `wait`, give up after this many seconds; nil waits as long as it takes.
    /// - Throws: `LockError.busy` when held and not waiting, `.timedOut` when the wait ran out,
    ///   `.ioFailure` when the lock cannot be created or removed (the root must exist: call
    ///   `CacheRoot.prepare` first), `.symbolicLink` for a planted link at `flush.lock` or its owner.json;
    ///   `StoreError.rootIsSymbolicLink` or `.ownedByAnotherUser` for such a root; or whatever `body` throws.
    /// - Important: blocks (sleeping) while waiting, and on fsyncs when taking and giving back the lock.
    public func withLock<T>(wait: Bool, timeout: TimeInterval? = nil, _ body: () throws -> T) throws -> T {
        let holding = try acquire(wait: wait, timeout: timeout)
        sweepAfterCrash()
        let result: T
        do {
            result = try body()
        } catch {
            // The body's error is what the caller must see; a lock that could not be removed is found stale
            // by the next run once this process is gone.
            try? release(holding)
            throw error
        }
        try release(holding)
        return result
    }

    /// The async form of `withLock(wait:timeout:_:)`: waits with `Task.sleep`, so a waiting task does not
    /// hold a thread, and stops waiting with `CancellationError` when its task is cancelled.
    public func withLock<T: Sendable>(
        wait: Bool, timeout: TimeInterval? = nil,
        _ body: () async throws -> T
    ) async throws -> T {
        let holding = try await acquireAsync(wait: wait, timeout: timeout)
        sweepAfterCrash()
        let result: T
        do {
            result = try await body()
        } catch {
            try? release(holding)
            throw error
        }
        try release(holding)
        return result
    }

    /// A holder killed mid-write leaves `.b1tmp-*` files (manifest, envelopes, history, failed/). The next holder
    /// removes those whose writer is gone, so `verify` is clean again after the next locked run. Best effort: a
    /// sweep that fails leaves orphans that `verify --repair` removes, and must not stop the command.
    private func sweepAfterCrash() {
        _ = try? CacheRoot.sweepOrphans(paths)
    }

    // MARK: Acquiring

    /// A held lock: what was written to owner.json, and the heartbeat keeping it fresh.
    struct Holding: Sendable {
        var owner: LockOwner
        var heartbeat: LockHeartbeat
    }

    private enum Attempt {
        case acquired(Holding)
        case busy(owner: String)
    }

    func acquire(wait: Bool, timeout: TimeInterval?) throws -> Holding {
        let start = Date()
        while true {
            switch try attempt() {
            case .acquired(let holding):
                return holding
            case .busy(let owner):
                Thread.sleep(forTimeInterval: try pause(owner: owner, wait: wait, timeout: timeout, since: start))
            }
        }
    }

    func acquireAsync(wait: Bool, timeout: TimeInterval?) async throws -> Holding {
        let start = Date()
        while true {
            switch try attempt() {
            case .acquired(let holding):
                return holding
            case .busy(let owner):
                let seconds = try pause(owner: owner, wait: wait, timeout: timeout, since: start)
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            }
        }
    }

    /// How long to sleep before the next attempt, or the error to throw instead.
    private func pause(owner: String, wait: Bool, timeout: TimeInterval?, since start: Date) throws -> TimeInterval {
        guard wait else { throw LockError.busy(owner: owner) }
        let pause = Double.random(in: pollInterval)
        guard let timeout else { return pause }
        let left = timeout - Date().timeIntervalSince(start)
        if left <= 0 { throw LockError.timedOut(owner: owner, seconds: timeout) }
        return min(pause, left)
    }

    /// One round without sleeping: create the lock, or judge the one there and break it if stale, then create.
    private func attempt() throws -> Attempt {
        let root: System.FileStatus?
        do {
            root = try System.status(paths.root.path)
        } catch {
            throw LockError.from(error, path: paths.root)
        }
        guard let root else {
            throw LockError.ioFailure(path: paths.root.path, reason: "the cache folder does not exist")
        }
        // A linked or foreign root is refused as every other command refuses it, with the same error (not as
        // "not a folder": lstat sees the link, not the folder it points to).
        if root.isSymbolicLink || root.ownerID != System.userID { try CacheRoot.check(paths.root) }
        guard root.isDirectory else {
            throw LockError.ioFailure(path: paths.root.path, reason: "the cache folder is not a folder")
        }
        try refuseSymbolicLinks()
        var holder = LockError.ownerNotYetWritten
        // A few rounds, because between two steps the lock may vanish (released) or be broken by someone else.
        for _ in 0..<3 {
            if try createDirectory() {
                if let holding = try writeFirstOwner() { return .acquired(holding) }
                continue
            }
            guard let observed = try observe() else { continue }
            holder = observed.owner?.summary ?? LockError.ownerNotYetWritten
            guard LockStaleness.judge(observed, ttl: ttl, grace: grace) != nil else { return .busy(owner: holder) }
            try breakStale(observed)
        }
        return .busy(owner: holder)
    }

    /// b1cache never makes a symbolic link, so one at `flush.lock` or `flush.lock/owner.json` was planted. It is
    /// refused at once: judged as a lock without a readable owner, it would block every flush for the grace period
    /// with a message about "another b1cache process", then be broken silently.
    private func refuseSymbolicLinks() throws {
        for url in [paths.lock, paths.lockOwner] {
            let status: System.FileStatus?
            do { status = try System.status(url.path) } catch { throw LockError.from(error, path: url) }
            if status?.isSymbolicLink == true { throw LockError.symbolicLink(path: url.path) }
        }
    }

    /// The one `mkdir` that decides who holds the lock. Returns false when the lock directory already exists.
    ///
    /// mkdir(2) with mode 0700 directly (the exclusive, non-recursive create that FileManager's would make), so the
    /// folder is never more open than 0700 even for an instant: FileManager creates it with the umask's mode and
    /// chmods after, and a process killed in between left a 0755 lock that `verify` reported.
    private func createDirectory() throws -> Bool {
        do {
            return try System.makeDirectory(paths.lock.path, mode: mode_t(DurableFile.directoryMode))
        } catch {
            throw LockError.from(error, path: paths.lock)
        }
    }

    /// Writes owner.json into the directory this process just created. Returns nil when, by the time the
    /// break-lock was taken, the directory was gone or already had an owner: this process stalled past the grace
    /// period, its owner-less directory was broken, and someone else may hold the lock now.
    private func writeFirstOwner() throws -> Holding? {
        let owner = LockOwner.current(command: command)
        let written = try BreakLock.run(paths, whenStuck: .proceed) { () throws -> Bool in
            guard let observed = try observe(), observed.owner == nil,
                !FileManager.default.fileExists(atPath: paths.lockOwner.path)
            else { return false }
            do {
                try DurableFile.write(owner.encoded(), to: paths.lockOwner)
            } catch {
                // Leave no owner-less directory to block everyone for the grace period: it is ours and empty.
                try? FileManager.default.removeItem(at: paths.lock)
                throw LockError.from(error, path: paths.lockOwner)
            }
            return true
        }
        guard written == true else { return nil }
        let heartbeat = LockHeartbeat(lock: self, owner: owner, interval: heartbeatInterval)
        heartbeat.start()
        mark("acquire")
        return Holding(owner: owner, heartbeat: heartbeat)
    }

    /// Breaks a stale lock, under the break-lock and only if it is still the lock that was judged stale: same
    /// owner.json, and still stale now (an owner-less directory made since is fresh by its new mtime). So of many
    /// processes that found the same stale lock, exactly one removes it and the others find it changed or gone.
    func breakStale(_ observed: LockObservation) throws {
        _ = try BreakLock.run(paths, whenStuck: .giveUp) { () throws -> Void in
            guard let current = try observe(), current.owner == observed.owner,
                LockStaleness.judge(current, ttl: ttl, grace: grace) != nil
            else { return }
            try removeLockDirectory()
        }
    }

    // MARK: Releasing

    /// Stops the heartbeat and removes the lock, unless owner.json is no longer this acquisition (the lock was
    /// broken while this process was stopped for longer than the TTL, and may now be someone else's).
    func release(_ holding: Holding) throws {
        holding.heartbeat.stop()
        mark("release")
        // Sign-out renames the whole root away, lock included: nothing is left to release.
        guard (try? System.status(paths.root.path)) ?? nil != nil else { return }
        _ = try BreakLock.run(paths, whenStuck: .proceed) { () throws -> Void in
            guard let owner = try observe()?.owner, owner.isSameAcquisition(as: holding.owner) else { return }
            try removeLockDirectory()
        }
    }

    /// Removes owner.json and the lock directory (with any temp file a crashed writer left in it), then fsyncs
    /// the root so the removal survives a crash.
    func removeLockDirectory() throws {
        do {
            try FileManager.default.removeItem(at: paths.lock)
            try System.fsyncDirectory(paths.root.path)
        } catch {
            throw LockError.from(error, path: paths.lock)
        }
    }

    // MARK: Reading

    /// What is at `flush.lock/` now; nil when nothing is. Anything there that is not a directory with a
    /// readable, well-formed owner.json counts as a lock without owner (judged by the grace period).
    func observe() throws -> LockObservation? {
        let status: System.FileStatus?
        do {
            status = try System.status(paths.lock.path)
        } catch {
            throw LockError.from(error, path: paths.lock)
        }
        guard let status else { return nil }
        var owner: LockOwner?
        if status.isDirectory, let data = try? System.readFile(paths.lockOwner.path, limit: 64 * 1024) {
            owner = LockOwner.decode(data)
        }
        return LockObservation(owner: owner, modified: status.modified)
    }

    /// Appends a stress-test mark (see the type's documentation). A failure to log must not change what the
    /// lock does, so it is ignored.
    private func mark(_ event: String) {
        guard let eventLog else { return }
        try? System.appendLine("\(event) \(System.processID) \(System.monotonicNanoseconds())", to: eventLog.path)
    }
}
