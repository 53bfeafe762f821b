import B1Cache
import Foundation
import Testing

/// SPEC §12: a command that deletes, replaces or repairs a folder acts only on a b1cache cache (or a missing or
/// empty folder). `--cache-dir ~` or a mistyped `B1CACHE_DIR` must never cost a user their files.
@Suite(.perTestTimeLimit) final class NotACacheFolderTests {
    let folder = TemporaryFolder()
    lazy var home = folder.path("h")

    /// A folder like a user's home: a document, and a script whose exec bit must survive.
    func makeHome() throws {
        let documents = home.appendingPathComponent("Documents")
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
        try Data("x\n".utf8).write(to: documents.appendingPathComponent("important.txt"))
        let script = home.appendingPathComponent("run.sh")
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        _ = try CommandRunner.run(URL(fileURLWithPath: "/bin/chmod"), ["-R", "go-rwx", home.path])
    }

    /// Every entry under the home folder with its mode and bytes.
    func state() throws -> [String: String] {
        var entries: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: home.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = home.appendingPathComponent(relative).path
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
            entries[relative] = "\(String(mode, radix: 8)) \(bytes ?? "folder")"
        }
        return entries
    }

    func b1cache(_ arguments: [String], root: URL? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", (root ?? home).path], timeout: 60)
    }

    @Test func signOutRestoreAndRepairRefuseAFolderThatIsNotACache() throws {
        try makeHome()
        let before = try state()
        #expect(before.count == 3)
        let backup = try Repository.copySampleCache(to: folder.path("backup"))
        let attempts = [
            ["sign-out"], ["sign-out", "--force"], ["restore", backup.path, "--force"], ["verify", "--repair"],
        ]
        for arguments in attempts {
            let result = try b1cache(arguments)
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.errorOutput)")
            #expect(result.errorOutput.contains("is not a b1cache cache"), "\(arguments): \(result.errorOutput)")
            #expect(
                result.errorOutput.contains("'Documents/'") && result.errorOutput.contains("'run.sh'"),
                "\(arguments): \(result.errorOutput)")
            #expect(!result.killedBySignal)
            #expect(try state() == before, "\(arguments) changed the folder")
        }
        // Not even the lock folder was made in it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path).sorted() == ["Documents", "run.sh"])
    }

    @Test func aCacheWithAStrayFileIsRefusedNamingTheFile() throws {
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        try Data("notes\n".utf8).write(to: cache.appendingPathComponent("notes.txt"))
        let before = try snapshotFiles(under: cache)
        let result = try b1cache(["sign-out", "--force"], root: cache)
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("'notes.txt'"))
        #expect(result.errorOutput.contains("move 'notes.txt' out of it"))
        #expect(try snapshotFiles(under: cache) == before)
        // verify names it as a problem (exit 8) without touching anything.
        let verify = try b1cache(["verify"], root: cache)
        #expect(verify.status == 8)
        #expect(verify.output.contains("notes.txt"))
        try FileManager.default.removeItem(at: cache.appendingPathComponent("notes.txt"))
        #expect(try b1cache(["sign-out", "--force"], root: cache).status == 0)
        #expect(!FileManager.default.fileExists(atPath: cache.path))
    }

    @Test func aMissingOrEmptyFolderIsSignedOutButIsNoCacheToVerify() throws {
        let missing = folder.path("missing")
        let signOut = try b1cache(["sign-out"], root: missing)
        #expect(signOut.status == 0)
        #expect(signOut.output.contains("Nothing to delete"))
        let verifyMissing = try b1cache(["verify"], root: missing)
        #expect(verifyMissing.status == 1)
        #expect(verifyMissing.errorOutput.contains("there is no cache at \(missing.path): it does not exist"))
        let empty = folder.path("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: false)
        let verifyEmpty = try b1cache(["verify"], root: empty)
        #expect(verifyEmpty.status == 1)
        #expect(verifyEmpty.errorOutput.contains("the folder is empty"))
        #expect(try b1cache(["sign-out"], root: empty).status == 0)
        #expect(!FileManager.default.fileExists(atPath: empty.path))
    }

    @Test func aCopyMadeIntoAnExistingFolderIsNamedByVerifyAndRestore() throws {
        let existing = folder.path("existing")
        try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: false)
        // What `cp -a cache existing/` makes.
        _ = try Repository.copySampleCache(to: existing.appendingPathComponent("cache"))
        let verify = try b1cache(["verify"], root: existing)
        #expect(verify.status == 8)
        #expect(verify.output.contains("\(existing.path)/cache/"))
        let restore = try b1cache(["restore", existing.path], root: folder.path("target"))
        #expect(restore.status == 8)
        #expect(restore.errorOutput.contains("holds 'cache/'"))
        #expect(restore.errorOutput.contains("restore from that folder"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("target").path))
    }

    @Test func verifyReportsAndRepairsARootLeftReadableByOthers() throws {
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: cache.path)
        let verify = try b1cache(["verify"], root: cache)
        #expect(verify.status == 8)
        #expect(verify.output.contains("mode 755, expected 700"))
        #expect(try b1cache(["verify", "--repair"], root: cache).status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: cache.path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(try b1cache(["verify"], root: cache).status == 0)
    }
}
