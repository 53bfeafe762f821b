@testable import B1Cache
import Foundation
import Synchronization
import Testing

/// The cache lock of SPEC §6, in one process: threads stand in for the competing processes (the break-lock
/// excludes threads as it does processes). Multi-process runs of the real binary use `B1CACHE_LOCK_LOG`.
@Suite(.perTestTimeLimit) final class LockTests {
    let folder = TemporaryFolder()
    let paths: CachePaths

    init() throws {
        paths = CachePaths(root: folder.path("cache"))
        try CacheRoot.prepare(paths)
    }

    /// A lock that polls quickly, so waiting tests stay fast, and logs only where a test asks it to.
    private func lock(_ command: String = "flush", ttl: TimeInterval = 120, grace: TimeInterval = 10) -> CacheLock {
        var lock = CacheLock(paths: paths, command: command, ttl: ttl, grace: grace)
        lock.eventLog = nil
        lock.pollInterval = 0.005...0.02
        return lock
    }

    /// Puts a lock directory on disk as another process would have left it.
    private func plant(_ owner: LockOwner?, ownerText: String? = nil) throws {
        try FileManager.default.createDirectory(at: paths.lock, withIntermediateDirectories: false)
        if let owner { try DurableFile.write(owner.encoded(), to: paths.lockOwner) }
        if let ownerText { try DurableFile.write(Data(ownerText.utf8), to: paths.lockOwner) }
    }

    private func owner(
        pid: Int32, startTime: String?, host: String? = nil, heartbeatAge: TimeInterval = 0,
        command: String = "flush"
    ) -> LockOwner {
        let me = LockOwner.current(command: command)
        return LockOwner(
            pid: pid, processStartTime: startTime, bootId: me.bootId, host: host ?? me.host,
            acquiredAt: Date(timeIntervalSinceNow: -heartbeatAge - 1),
            heartbeatAt: Date(timeIntervalSinceNow: -heartbeatAge), command: command)
    }

    private func deadProcessID() throws -> Int32 {
        let process = try Process.run(URL(fileURLWithPath: "/bin/true"), arguments: [])
        process.waitUntilExit()
        return process.processIdentifier
    }

    private var lockExists: Bool { FileManager.default.fileExists(atPath: paths.lock.path) }

    private func mode(_ url: URL) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
    }

    // MARK: Taking and giving back

    @Test func acquiringMakesAPrivateLockAndReleasingRemovesIt() throws {
        let value = try lock().withLock(wait: false) {
            let status = try lock().status()
            #expect(status.held && !status.stale)
            #expect(status.owner?.pid == ProcessInfo.processInfo.processIdentifier)
            #expect(status.owner?.command == "flush")
            #expect(status.owner?.host == ProcessInfo.processInfo.hostName)
            #expect(try mode(paths.lock) == 0o700)
            #expect(try mode(paths.lockOwner) == 0o600)
            return 7
        }
        #expect(value == 7)
        #expect(!lockExists)
        #expect(try lock().status().held == false)
    }

    @Test func aSecondAcquirerIsToldWhoHoldsTheLock() throws {
        try lock("flush").withLock(wait: false) {
            let error = #expect(throws: LockError.self) { try lock("sync").withLock(wait: false) {} }
            let text = error?.description ?? ""
            #expect(text.contains("'flush'") && text.contains("pid \(ProcessInfo.processInfo.processIdentifier)"))
            #expect(text.contains(ProcessInfo.processInfo.hostName))
            #expect(error?.hint == "wait for it to finish, or pass --wait")
        }
        #expect(!lockExists)
    }

    @Test func aWaitingAcquirerGetsTheLockOnceReleased() throws {
        let held = DispatchSemaphore(value: 0)
        let releasedAt = Mutex<UInt64>(0)
        let holder = lock("flush")
        let holderError = Locked<String>()
        Thread {
            do {
                try holder.withLock(wait: false) {
                    held.signal()
                    Thread.sleep(forTimeInterval: 0.3)
                    releasedAt.withLock { $0 = System.monotonicNanoseconds() }
                }
            } catch {
                holderError.set("\(error)")
                held.signal()
            }
        }.start()
        // A holder that never gets the lock fails the test instead of blocking it forever.
        try #require(held.wait(seconds: 10, "the holder to take the lock"))
        try #require(holderError.value == nil, "the holder could not take the lock: \(holderError.value ?? "")")
        let acquiredAt = try lock("sync").withLock(wait: true, timeout: 5) { System.monotonicNanoseconds() }
        #expect(acquiredAt > releasedAt.withLock { $0 })
    }

    @Test func waitingGivesUpAtTheTimeout() throws {
        try lock().withLock(wait: false) {
            let started = Date()
            #expect(throws: LockError.self) { try lock("sync").withLock(wait: true, timeout: 0.2) {} }
            #expect(Date().timeIntervalSince(started) < 2)
        }
    }

    @Test func theBodysErrorComesThroughAndTheLockIsReleased() throws {
        struct Failure: Error {}
        #expect(throws: Failure.self) { try lock().withLock(wait: false) { throw Failure() } }
        #expect(!lockExists)
    }

    @Test func theAsyncFormTakesAndGivesBack() async throws {
        let value = try await lock().withLock(wait: true, timeout: 5) { () async throws -> Int in
            try await Task.sleep(nanoseconds: 10_000_000)
            return 42
        }
        #expect(value == 42)
        #expect(!lockExists)
    }

    @Test func aMissingRootIsAnError() throws {
        let missing = CacheLock(paths: CachePaths(root: folder.path("nowhere")), command: "flush")
        #expect(throws: LockError.self) { try missing.withLock(wait: false) {} }
    }

    @Test func releaseLeavesAloneALockThatIsNoLongerOurs() throws {
        let other = owner(pid: 1, startTime: "1", host: "elsewhere.invalid")
        try lock().withLock(wait: false) {
            try DurableFile.write(other.encoded(), to: paths.lockOwner)
        }
        #expect(lockExists)
        #expect(try lock().status().owner?.host == "elsewhere.invalid")
    }

    // MARK: Staleness

    @Test func aLockWhoseProcessIsGoneIsBroken() throws {
        try plant(owner(pid: try deadProcessID(), startTime: "1"))
        #expect(try lock().status().stale)
        let sentence = try #require(try CacheLock.staleDescription(paths: paths))
        #expect(sentence.contains("no longer running"))
        let pid = try lock().withLock(wait: false) { try lock().status().owner?.pid }
        #expect(pid == ProcessInfo.processInfo.processIdentifier)
    }

    @Test func aLivePidWithAnotherStartTimeIsAReusedPid() throws {
        let me = ProcessInfo.processInfo.processIdentifier
        let realStart = LockOwner.current(command: "flush").processStartTime
        #expect(realStart != nil)
        try plant(owner(pid: me, startTime: realStart))
        #expect(try lock().status().stale == false)
        #expect(throws: LockError.self) { try lock().withLock(wait: false) {} }
        try FileManager.default.removeItem(at: paths.lock)

        try plant(owner(pid: me, startTime: "12345678901"))
        #expect(try lock().status().stale)
        try lock().withLock(wait: false) {}
    }

    @Test func aHeartbeatOlderThanTheTTLIsStaleWhateverTheHost() throws {
        // Another host's pid cannot be checked here: only the heartbeat counts, so a fresh one holds.
        try plant(owner(pid: try deadProcessID(), startTime: "1", host: "elsewhere.invalid"))
        #expect(try lock().status().stale == false)
        #expect(try CacheLock.staleDescription(paths: paths) == nil)
        try FileManager.default.removeItem(at: paths.lock)

        try plant(owner(pid: 1, startTime: "1", host: "elsewhere.invalid", heartbeatAge: 600))
        #expect(try lock().status().stale)
        #expect(try CacheLock.staleDescription(paths: paths)?.contains("has not been refreshed for 10 min") == true)
        try lock().withLock(wait: false) {}
    }

    @Test func aLockWithoutOwnerIsFreshWithinTheGracePeriodOnly() throws {
        try plant(nil, ownerText: "{\"pid\": ")
        let status = try lock().status()
        #expect(status.held && status.owner == nil && !status.stale)
        let error = #expect(throws: LockError.self) { try lock().withLock(wait: false) {} }
        #expect(error?.description.contains("no owner recorded yet") == true)

        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -60)],
            ofItemAtPath: paths.lock.path)
        #expect(try lock().status().stale)
        #expect(try CacheLock.staleDescription(paths: paths)?.contains("no readable owner.json") == true)
        try lock().withLock(wait: false) {}
        #expect(!lockExists)
    }

    // MARK: Races and heartbeat

    @Test func sixteenThreadsRacingToBreakAStaleLockHoldItOneAtATime() throws {
        try plant(owner(pid: try deadProcessID(), startTime: "1"))
        let log = folder.path("lock.log")
        var racer = lock()
        racer.eventLog = log
        let intervals = Mutex<[(start: UInt64, end: UInt64)]>([])
        let failures = Mutex<[String]>([])
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for _ in 0..<16 {
            done.enter()
            Thread { [racer] in
                defer { done.leave() }
                gate.wait()
                do {
                    try racer.withLock(wait: true, timeout: 8) {
                        let start = System.monotonicNanoseconds()
                        Thread.sleep(forTimeInterval: 0.002)
                        intervals.withLock { $0.append((start, System.monotonicNanoseconds())) }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }.start()
        }
        for _ in 0..<16 { gate.signal() }
        #expect(done.wait(timeout: .now() + 10) == .success)

        #expect(failures.withLock { $0 } == [])
        let sorted = intervals.withLock { $0 }.sorted { $0.start < $1.start }
        #expect(sorted.count == 16)
        for (previous, next) in zip(sorted, sorted.dropFirst()) { #expect(previous.end <= next.start) }
        // Acquire marks are written after taking the lock and release marks before giving it back, so a lock
        // held by one at a time yields strictly alternating lines.
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        #expect(lines.count == 32)
        for (index, line) in lines.enumerated() { #expect(line.first == (index % 2 == 0 ? "acquire" : "release")) }
        #expect(!lockExists)
    }

    /// The in-process race above rarely lands between one thread's break and another's look (two cores), so the
    /// rule that makes breaking safe is also checked step by step: a break decided on what was seen before must
    /// re-read the lock under the break-lock and leave a newer lock alone.
    @Test func aBreakDecidedOnAnEarlierLookLeavesANewerLockAlone() throws {
        try plant(owner(pid: try deadProcessID(), startTime: "1"))
        let staleLook = try #require(try lock().observe())
        try FileManager.default.removeItem(at: paths.lock)
        try lock("sync").withLock(wait: false) {
            try lock().breakStale(staleLook)
            #expect(try lock().status().owner?.command == "sync")
        }

        try plant(nil)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -60)],
            ofItemAtPath: paths.lock.path)
        let ownerlessLook = try #require(try lock().observe())
        try FileManager.default.removeItem(at: paths.lock)
        try plant(nil)
        try lock().breakStale(ownerlessLook)
        #expect(lockExists)
        try lock().breakStale(try #require(try lock().observe()))
        #expect(lockExists)
    }

    @Test func theHeartbeatKeepsAShortLivedLockFresh() throws {
        let short = lock(ttl: 0.4)
        #expect(short.heartbeatInterval == 0.1)
        try short.withLock(wait: false) {
            let first = try #require(try short.status().owner)
            Thread.sleep(forTimeInterval: 0.55)
            let status = try short.status()
            let later = try #require(status.owner)
            #expect(later.heartbeatAt > first.heartbeatAt)
            #expect(later.isSameAcquisition(as: first))
            #expect(!status.stale)
        }
        #expect(!lockExists)
    }

    // MARK: owner.json

    @Test func ownerRecordsRoundTripAndGarbageReadsAsNoOwner() throws {
        let original = LockOwner(
            pid: 4242, processStartTime: "109463", bootId: "e760df10", host: "laptop",
            acquiredAt: Date(timeIntervalSince1970: 1_790_000_000),
            heartbeatAt: Date(timeIntervalSince1970: 1_790_000_030), command: "flush")
        #expect(LockOwner.decode(original.encoded()) == original)
        let text = String(decoding: original.encoded(), as: UTF8.self)
        #expect(text.contains("\"heartbeatAt\": \"2026-09-21T14:13:50.000Z\""))

        let numeric =
            #"{"pid": 7, "processStartTime": 99, "bootId": null, "host": "h", "command": "sync","#
            + #" "acquiredAt": "2026-11-22T09:14:03Z", "heartbeatAt": "2026-11-22T09:14:03Z"}"#
        let decoded = try #require(LockOwner.decode(Data(numeric.utf8)))
        #expect(decoded.processStartTime == "99" && decoded.bootId == nil)

        for garbage in ["", "null", "[]", "{\"pid\": 7}", #"{"pid": -1, "host": "h", "acquiredAt": "x"}"#] {
            #expect(LockOwner.decode(Data(garbage.utf8)) == nil)
        }
    }
}
