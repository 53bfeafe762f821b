import B1Cache
import Foundation
import Testing

/// Backup under concurrent enqueues, and restore killed at random moments, with real processes.
@Suite(.perTestTimeLimit) final class BackupRestoreCrashTests {
    let folder = TemporaryFolder()
    /// Extra open items, one per write: nothing may be queued after a pending apply of the same item.
    lazy var cache: URL = (try? Stress.seed(withExtraItems: 60, at: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], root: URL? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", (root ?? cache).path])
    }

    /// An apply of extra item `item` tagged with `note` (applies never replace one another).
    static func applyPayload(_ note: String, item: Int) -> String {
        #"{"itemIds":["\#(Stress.extraItem(item))"],"mapping":{"contractId":"\#(Sample.mappingContract)","note":"\#(note)"}}"#
    }

    /// The notes of the pending writes in a cache folder.
    func notes(in root: URL) throws -> [String] {
        try WriteQueue(paths: CachePaths(root: root)).list(.pending).compactMap {
            $0.write?.payload["mapping"]?["note"]?.stringValue
        }
    }

    /// `inspect --json` without what legitimately differs between two folders holding the same files: the root's
    /// path and the ages, which depend on when inspect ran.
    func inspect(_ root: URL) throws -> JSONValue {
        let result = try b1cache(["inspect", "--json"], root: root)
        #expect(result.status == 0, "\(result.errorOutput)")
        guard var object = try JSONParser.parse(result.output).objectValue else { return .null }
        object["root"] = nil
        object["collections"] = .array(
            (object["collections"]?.arrayValue ?? []).map { collection in
                guard var entry = collection.objectValue else { return collection }
                entry["ageSeconds"] = nil
                return .object(entry)
            })
        return .object(object)
    }

    @Test func backupsTakenWhileTwoProcessesEnqueueAreConsistentAndRestoreToTheSameInspect() throws {
        let cachePath = cache.path
        let perWriter = 25
        let writersDone = [Locked<Bool>(), Locked<Bool>()]
        let failures = Locked<[String]>()
        let backups = Locked<[(URL, CommandResult)]>()
        let folderURL = folder.url
        runConcurrently(3) { index in
            if index < 2 {
                for number in 0..<perWriter {
                    let note = "w\(index)-\(String(format: "%02d", number))"
                    let result = try? CommandRunner.b1cache([
                        "enqueue", "missed-billing.apply", "--payload",
                        Self.applyPayload(note, item: index * perWriter + number), "--cache-dir", cachePath,
                    ])
                    if result?.status != 0 {
                        failures.set((failures.value ?? []) + [result?.errorOutput ?? "did not run"])
                    }
                }
                writersDone[index].set(true)
                return
            }
            // Back up again and again while the writers run.
            var made: [(URL, CommandResult)] = []
            while !writersDone.allSatisfy(\.isSet) || made.isEmpty {
                let destination = folderURL.appendingPathComponent("backup-\(made.count)")
                let result =
                    (try? CommandRunner.b1cache(["backup", destination.path, "--cache-dir", cachePath]))
                    ?? CommandResult(status: -1, output: "", errorOutput: "did not run")
                made.append((destination, result))
            }
            backups.set(made)
        }
        #expect(failures.value == nil)
        let made = backups.value ?? []
        #expect(made.count >= 2)
        for (destination, result) in made {
            #expect(result.status == 0, "\(destination.lastPathComponent): \(result.output)\(result.errorOutput)")
            #expect(try b1cache(["verify"], root: destination).status == 0)
            // Each writer enqueues one write after the other, so a consistent copy holds a prefix of each one's
            // writes: no write without the ones its writer queued before it.
            let notes = try notes(in: destination)
            for writer in 0..<2 {
                let own = notes.filter { $0.hasPrefix("w\(writer)-") }.sorted()
                #expect(
                    own == (0..<own.count).map { "w\(writer)-\(String(format: "%02d", $0))" },
                    "\(destination.lastPathComponent): \(own)")
            }
        }
        // The last backup, restored into a new folder, is the same cache.
        let (last, _) = try #require(made.last)
        let restored = folder.path("restored")
        let result = try b1cache(["restore", last.path], root: restored)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(try inspect(restored) == inspect(last))
        #expect(try snapshotFiles(under: restored) == snapshotFiles(under: last))
        // And over the cache itself, where the writers' queue is now complete.
        #expect(try notes(in: cache).count == 2 * perWriter)
        let over = try b1cache(["restore", last.path, "--force"])
        #expect(over.status == 0, "\(over.errorOutput)")
        #expect(try inspect(cache) == inspect(last))
        #expect(try b1cache(["verify"]).status == 0)
        print(
            "backup under enqueue: \(made.count) backups, pending writes in them: \(try made.map { try notes(in: $0.0).count })"
        )
    }

    @Test func sigkillOfRestoreAtRandomMomentsLeavesTheOldOrTheNewCacheAndTheNextRunFinishesIt() throws {
        let rounds = Stress.count(short: 30, long: 60, override: "B1CACHE_RESTORE_KILL_ROUNDS")
        // Two different caches to restore in turn: the sample, and the sample with more writes queued.
        let first = folder.path("first"), second = folder.path("second")
        #expect(try b1cache(["backup", first.path]).status == 0)
        for number in 0..<5 {
            #expect(
                try b1cache([
                    "enqueue", "missed-billing.apply", "--payload", Self.applyPayload("k\(number)", item: 50 + number),
                ]).status == 0)
        }
        #expect(try b1cache(["backup", second.path]).status == 0)
        let snapshots = [first: try snapshotFiles(under: first), second: try snapshotFiles(under: second)]
        #expect(snapshots[first] != snapshots[second])
        let root = folder.path("home/billingone")
        try FileManager.default.createDirectory(
            at: root.deletingLastPathComponent(), withIntermediateDirectories: false)
        #expect(try b1cache(["restore", first.path], root: root).status == 0)
        var current = first

        // When to kill: anywhere in a whole restore, measured here (not an assertion) and then adjusted, so that
        // about as many restores are killed late as finish before the kill on a fast or a loaded machine.
        let started = Date()
        #expect(try b1cache(["restore", first.path, "--force"], root: root).status == 0)
        var window = Date().timeIntervalSince(started)

        var generator = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        for round in 1...rounds {
            let target = current == first ? second : first
            let process = Process()
            process.executableURL = CommandRunner.binary
            process.arguments = ["restore", target.path, "--force", "--cache-dir", root.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.runWithTimeLimit()
            usleep(UInt32.random(in: 0...UInt32(window * 1_000_000), using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            let finished = process.terminationReason == .exit
            // A restore that exited 6 (the lock of one killed right after its mkdir) says nothing about the window.
            window *= !finished ? 1.1 : process.terminationStatus == 0 ? 0.8 : 1
            let rootThere = FileManager.default.fileExists(atPath: root.path)

            // The next run finishes or undoes the restore; the cache is then the old one or the new one, whole.
            let next = try b1cache(["inspect"], root: root)
            #expect(next.status == 0, "round \(round): \(next.errorOutput)")
            let now = try snapshotFiles(under: root).filter { !$0.key.hasPrefix("flush.lock/") }
            if now == snapshots[target] {
                current = target
            } else {
                #expect(now == snapshots[current], "round \(round): the cache is neither the old nor the new one")
            }
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: root.deletingLastPathComponent().path) == [
                    "billingone"
                ],
                "round \(round): something was left beside the cache")
            // The only thing verify may find is the stale lock of the killed restore, which the next restore breaks.
            let verify = try b1cache(["verify", "--json"], root: root)
            let lock = root.appendingPathComponent("flush.lock").path
            for line in verify.lines {
                let problem = try JSONParser.parse(line)
                #expect(
                    problem["kind"] == "staleLock" && problem["path"]?.stringValue == lock, "round \(round): \(line)")
            }
            // A restore killed between its mkdir of the lock and its owner.json leaves a lock that counts as fresh for
            // a 10 s grace period (SPEC §6), during which every restore exits 6. Rather than wait, age it past the
            // grace period: the next restore then breaks it, as it would 10 s later.
            let lockFolder = root.appendingPathComponent("flush.lock")
            if FileManager.default.fileExists(atPath: lockFolder.path),
                !FileManager.default.fileExists(atPath: lockFolder.appendingPathComponent("owner.json").path)
            {
                try FileManager.default.setAttributes(
                    [.modificationDate: Date(timeIntervalSinceNow: -60)],
                    ofItemAtPath: lockFolder.path)
                outcomes["left a lock without owner (aged past the grace period)", default: 0] += 1
            }
            let outcome =
                finished && process.terminationStatus == 6
                ? "exited 6 (a killed restore's lock without owner)"
                : finished
                    ? "finished before the kill"
                    : !rootThere
                        ? "killed between the renames"
                        : current == target ? "killed after the swap" : "killed before the swap"
            outcomes[outcome, default: 0] += 1
        }
        // --wait: a restore killed between its mkdir of the lock and its owner.json leaves a lock that counts as
        // fresh for the grace period (SPEC §6).
        let last = try b1cache(["restore", first.path, "--force", "--wait"], root: root)
        #expect(last.status == 0, "\(last.errorOutput)")
        let verify = try b1cache(["verify"], root: root)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(try snapshotFiles(under: root) == snapshots[first])
        Stress.record(
            "crash/restore",
            "\(rounds) SIGKILLs: "
                + outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                + "; after each, the next run left exactly the old or the new cache")
    }
}
