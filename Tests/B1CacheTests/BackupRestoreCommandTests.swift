import B1Cache
import Foundation
import Testing

@Suite(.perTestTimeLimit) final class BackupRestoreCommandTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], root: URL? = nil, umask: String? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", (root ?? cache).path], umask: umask)
    }

    /// A backup of the sample cache, made by the command under test.
    func backup(_ name: String = "backup") throws -> URL {
        let destination = folder.path(name)
        let result = try b1cache(["backup", destination.path])
        #expect(result.status == 0, "\(result.errorOutput)")
        return destination
    }

    /// Every entry under `root` with its mode.
    func modes(under root: URL) throws -> [String: Int] {
        var modes: [String: Int] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let relative = enumerator?.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(
                atPath: root.appendingPathComponent(relative).path)
            modes[relative] = (attributes[.posixPermissions] as? Int ?? 0) & 0o777
        }
        return modes
    }

    func deadProcessID() throws -> Int32 {
        let process = try Process.run(URL(fileURLWithPath: "/bin/true"), arguments: [])
        process.waitUntilExit()
        return process.processIdentifier
    }

    // MARK: backup

    @Test func aBackupUnderUmask000IsPrivateCompleteAndVerifiesClean() throws {
        try FileManager.default.createDirectory(
            at: cache.appendingPathComponent("queue/.tmp"), withIntermediateDirectories: true)
        let destination = folder.path("backup")
        let result = try b1cache(["backup", destination.path, "--json"], umask: "000")
        #expect(result.status == 0, "\(result.errorOutput)")
        let summary = try JSONParser.parse(result.output)
        #expect(
            summary["files"]?.intValue == (try snapshotFiles(under: cache).count) && summary["problems"] == .array([]))
        // The same files, byte for byte; the lock the backup held while copying is not among them.
        #expect(try snapshotFiles(under: destination) == snapshotFiles(under: cache))
        let modes = try modes(under: destination)
        #expect(modes["queue/.tmp"] == 0o700)
        for (path, mode) in modes {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: destination.appendingPathComponent(path).path, isDirectory: &isFolder)
            #expect(mode == (isFolder.boolValue ? 0o700 : 0o600), "\(path) \(String(mode, radix: 8))")
        }
        #expect(try self.modes(under: folder.url)["backup"] == 0o700)
        #expect(try b1cache(["verify"], root: destination).status == 0)
    }

    @Test func tempFilesAndStagingAreNotCopied() throws {
        let staging = cache.appendingPathComponent("queue/.tmp")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for path in [
            "queue/.tmp/.b1tmp-\(getpid())-0A1B2C3D-20261122T000000.000000Z-000001-x.json",
            "collections/.b1tmp-\(getpid())-0A1B2C3D-invoices.json", ".dat.nosync12ab",
        ] {
            try Data("{\"partial".utf8).write(to: cache.appendingPathComponent(path))
        }
        let destination = try backup()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: destination.appendingPathComponent("queue/.tmp").path)
                .isEmpty)
        #expect(
            try snapshotFiles(under: destination).keys.allSatisfy {
                !$0.contains(".b1tmp-") && !$0.contains(".dat.nosync")
            })
    }

    @Test func backupIntoAnEmptyFolderWorks() throws {
        let destination = folder.path("empty")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: false)
        #expect(try b1cache(["backup", destination.path]).status == 0)
        #expect(try snapshotFiles(under: destination) == snapshotFiles(under: cache))
    }

    @Test func backupRefusesADestinationThatIsNotEmptyIsAFileIsInsideTheCacheOrHasNoParent() throws {
        let full = folder.path("full")
        try FileManager.default.createDirectory(at: full, withIntermediateDirectories: false)
        try Data("mine".utf8).write(to: full.appendingPathComponent("notes.txt"))
        let file = folder.path("file")
        try Data("mine".utf8).write(to: file)
        let cases: [(URL, String)] = [
            (full, "the backup destination \(full.path) is a folder that is not empty"),
            (file, "the backup destination \(file.path) is a file"),
            (cache.appendingPathComponent("quarantine/b"), "is inside the cache folder \(cache.path)"),
            (
                folder.path("no/such/b"),
                "the folder \(folder.path("no/such").path) that would hold the backup does not exist"
            ),
        ]
        let before = try snapshotFiles(under: folder.url)
        for (destination, message) in cases {
            let result = try b1cache(["backup", destination.path])
            #expect(result.status == 2, "\(destination.path)")
            #expect(result.errorOutput.contains(message), "\(result.errorOutput)")
        }
        #expect(try snapshotFiles(under: folder.url) == before)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["cache", "file", "full"])
    }

    @Test func backupOfACacheThatDoesNotExistFails() throws {
        let result = try b1cache(["backup", folder.path("b").path], root: folder.path("none"))
        #expect(result.status == 1)
        #expect(result.errorOutput.contains("nothing to back up"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("b").path))
    }

    @Test func backupExits6WhileTheLockIsHeldAndWaitsWithWait() throws {
        let lock = CacheLock(paths: CachePaths(root: cache), command: "flush")
        let destination = folder.path("backup")
        let waiting = Process()
        try lock.withLock(wait: false) {
            let busy = try b1cache(["backup", destination.path])
            #expect(busy.status == 6)
            #expect(busy.errorOutput.contains("the cache is locked by 'flush'"))
            #expect(!FileManager.default.fileExists(atPath: destination.path))
            waiting.executableURL = CommandRunner.binary
            waiting.arguments = ["backup", destination.path, "--wait", "--cache-dir", cache.path]
            waiting.standardOutput = FileHandle.nullDevice
            waiting.standardError = FileHandle.nullDevice
            try waiting.runWithTimeLimit()
            usleep(300_000)
            #expect(waiting.isRunning)
        }
        waiting.waitForExit()
        #expect(waiting.terminationStatus == 0)
        #expect(try snapshotFiles(under: destination) == snapshotFiles(under: cache))
    }

    @Test func theCopyOfAKilledBackupIsRemovedByTheNextBackup() throws {
        let destination = folder.path("backup")
        let leftover = folder.path(".backup.b1backup-\(try deadProcessID())-1-0a1b2c3d")
        try FileManager.default.createDirectory(
            at: leftover.appendingPathComponent("collections"), withIntermediateDirectories: true)
        #expect(try b1cache(["backup", destination.path]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
    }

    @Test func aCorruptFileIsCopiedAndReportedWithExit8() throws {
        try Data("{\"items\": [".utf8).write(to: cache.appendingPathComponent("collections/settings.json"))
        let destination = folder.path("backup")
        let result = try b1cache(["backup", destination.path])
        #expect(result.status == 8)
        #expect(result.output.contains("unreadable  \(destination.path)/collections/settings.json"))
        #expect(result.errorOutput.contains("verify found 1 problem in the backup at \(destination.path)"))
        // The pending writes are in the copy all the same: they exist nowhere else.
        #expect(try snapshotFiles(under: destination) == snapshotFiles(under: cache))
    }

    // MARK: restore

    @Test func restoreRefusesWhileWritesArePendingAndForceReplacesTheCache() throws {
        let backup = try backup()
        let payload = #"{"itemIds":["\#(Sample.openItem)"],"mapping":{"contractId":"\#(Sample.mappingContract)"}}"#
        #expect(try b1cache(["enqueue", "missed-billing.apply", "--payload", payload]).status == 0)
        let before = try snapshotFiles(under: cache)
        let refused = try b1cache(["restore", backup.path])
        #expect(refused.status == 7)
        #expect(refused.errorOutput.contains("restore would lose 4 pending and 1 failed writes"))
        #expect(try snapshotFiles(under: cache) == before)
        let forced = try b1cache(["restore", backup.path, "--force", "--json"])
        #expect(forced.status == 0, "\(forced.errorOutput)")
        let summary = try JSONParser.parse(forced.output)
        #expect(
            summary["replaced"] == .bool(true) && summary["lostPending"]?.intValue == 4
                && summary["lostFailed"]?.intValue == 1)
        #expect(try snapshotFiles(under: cache) == snapshotFiles(under: backup))
        #expect(try b1cache(["verify"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["backup", "cache"])
    }

    @Test func restoreWithoutPendingWritesNeedsNoForce() throws {
        let backup = try backup()
        for name in ["queue", "failed"] {
            try FileManager.default.removeItem(at: cache.appendingPathComponent(name))
        }
        let result = try b1cache(["restore", backup.path])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(
            result.output.hasPrefix(
                "Restored \(cache.path) from \(backup.path): \(try snapshotFiles(under: backup).count) files"))
        #expect(try snapshotFiles(under: cache) == snapshotFiles(under: backup))
    }

    @Test func restoreOfACorruptSourceExits8NamesTheProblemAndLeavesTheCacheUntouched() throws {
        let backup = try backup()
        try Data("{\"format\": \"b1cache.envelope\"".utf8).write(
            to: backup.appendingPathComponent("collections/invoices.json"))
        let before = try snapshotFiles(under: cache)
        let result = try b1cache(["restore", backup.path, "--force"])
        #expect(result.status == 8)
        #expect(result.errorOutput.contains("the restore source \(backup.path) is not a valid cache (1 problem)"))
        #expect(result.errorOutput.contains("unreadable  \(backup.path)/collections/invoices.json"))
        #expect(try snapshotFiles(under: cache) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["backup", "cache"])
    }

    @Test func restoreRefusesASourceThatIsNotACacheOrOverlapsIt() throws {
        let empty = folder.path("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: false)
        let before = try snapshotFiles(under: cache)
        let notACache = try b1cache(["restore", empty.path, "--force"])
        #expect(notACache.status == 8)
        #expect(notACache.errorOutput.contains("is not a b1cache folder"))
        let missing = try b1cache(["restore", folder.path("none").path, "--force"])
        #expect(missing.status == 2)
        let itself = try b1cache(["restore", cache.path, "--force"])
        #expect(itself.status == 2)
        #expect(itself.errorOutput.contains("overlaps the cache folder"))
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func restoreIntoACacheFolderThatDoesNotExistYetWorksAndIsPrivate() throws {
        let backup = try backup()
        let fresh = folder.path("new/machine/billingone")
        let result = try b1cache(["restore", backup.path], root: fresh, umask: "000")
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(try snapshotFiles(under: fresh) == snapshotFiles(under: backup))
        #expect(try modes(under: fresh).values.allSatisfy { $0 == 0o600 || $0 == 0o700 })
        #expect(try modes(under: folder.path("new"))["machine"] == 0o700)
        #expect(try b1cache(["verify"], root: fresh).status == 0)
    }

    // MARK: interrupted restores

    @Test func aRestoreKilledBetweenItsRenamesIsFinishedByTheNextRun() throws {
        let backup = try backup()
        let tag = "\(try deadProcessID())-1-0a1b2c3d"
        let staging = folder.path(".cache.restoring-\(tag)"), aside = folder.path(".cache.restore-old-\(tag)")
        try FileManager.default.copyItem(at: backup, to: staging)
        try Data("{}".utf8).write(to: cache.appendingPathComponent("old-marker"))
        try FileManager.default.moveItem(at: cache, to: aside)
        // status only reads, and says so.
        let status = try CommandRunner.b1cache(["status", "--cache-dir", cache.path])
        #expect(status.output.contains("restore running or interrupted"))
        #expect(!FileManager.default.fileExists(atPath: cache.path))
        let next = try b1cache(["inspect"])
        #expect(next.status == 0, "\(next.errorOutput)")
        #expect(try snapshotFiles(under: cache) == snapshotFiles(under: backup))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["backup", "cache"])
    }

    @Test func aRestoreKilledBeforeItsSwapLeavesTheOldCacheAndItsCopyIsRemoved() throws {
        let backup = try backup()
        let staging = folder.path(".cache.restoring-\(try deadProcessID())-1-0a1b2c3d")
        try FileManager.default.copyItem(at: backup, to: staging)
        try Data("{}".utf8).write(to: cache.appendingPathComponent("old-marker"))
        let before = try snapshotFiles(under: cache)
        #expect(try b1cache(["inspect"]).status == 0)
        #expect(try snapshotFiles(under: cache) == before)
        #expect(!FileManager.default.fileExists(atPath: staging.path))
    }

    @Test func theCopyOfARestoreThatIsStillRunningIsLeftAloneButAReusedPidDoesNotCount() throws {
        let backup = try backup()
        // This test process stands for the running restore ("0": no start time recorded, the pid alone decides).
        let running = folder.path(".cache.restoring-\(getpid())-0-0a1b2c3d")
        let reused = folder.path(".cache.restoring-\(getpid())-12345678901-0a1b2c3d")
        try FileManager.default.copyItem(at: backup, to: running)
        try FileManager.default.copyItem(at: backup, to: reused)
        #expect(try b1cache(["inspect"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: running.path))
        #expect(!FileManager.default.fileExists(atPath: reused.path))
    }
}
