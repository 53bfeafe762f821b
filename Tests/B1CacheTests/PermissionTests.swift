import B1Cache
import Foundation
import Testing

/// b1cache run as an unprivileged user (`setpriv --reuid=65534`) on a cache it owns whose queue, collections or
/// root is read-only: a clear error naming the path, a non-zero exit, nothing lost. Needs root to switch users;
/// skipped (not passed) otherwise.
@Suite(.perTestTimeLimit) final class PermissionTests {
    let folder = TemporaryFolder()
    static let nobody = "65534"

    static let canSwitchUser: Bool = {
        let probe = try? CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "true"])
        guard probe?.status == 0 else {
            Stress.record("permissions", "skipped: cannot run as another user here (setpriv needs root)")
            return false
        }
        // The copy the test runs lives in the temporary folder; a private TMPDIR would keep the other user out too.
        let folder = TemporaryFolder()
        let copy = binaryCopy(in: folder)
        let run = try? CommandRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups",
                copy.path, "--version",
            ])
        guard run?.status == 0 else {
            Stress.record("permissions", "skipped: uid \(nobody) cannot run a copy of b1cache in \(folder.url.path)")
            return false
        }
        return true
    }()

    /// A copy of the binary in `folder` (under the system's temporary folder), 0755 all the way: the build's own
    /// may sit where the other user cannot reach it (a clone in a `mktemp -d` folder is 0700, docs/RELIABILITY.md).
    static func binaryCopy(in folder: TemporaryFolder) -> URL {
        let copy = folder.path("bin/b1cache")
        try? FileManager.default.createDirectory(
            at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.copyItem(at: CommandRunner.binary, to: copy)
        for path in [folder.url.path, copy.deletingLastPathComponent().path, copy.path] {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        return copy
    }

    lazy var binary: URL = Self.binaryCopy(in: folder)

    /// `b1cache` as uid/gid 65534.
    func b1cacheAsNobody(_ arguments: [String], cache: URL, server: ReferenceServer) throws -> CommandResult {
        var environment = server.environment()
        environment["HOME"] = "/tmp"
        let command =
            ["setpriv", "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", binary.path]
            + arguments + ["--cache-dir", cache.path]
        return try CommandRunner.run(URL(fileURLWithPath: "/usr/bin/env"), command, environment: environment)
    }

    /// A sample cache owned by the unprivileged user, in a folder of its own as `~/.cache` would be (sign-out
    /// renames the root there), with `readOnly` (relative to the root) made 0500.
    func cache(named name: String, readOnly: String) throws -> URL {
        let home = folder.path(name)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let cache = try Repository.copySampleCache(to: home.appendingPathComponent("billingone"))
        _ = try CommandRunner.run(
            URL(fileURLWithPath: "/bin/chown"), ["-R", "\(Self.nobody):\(Self.nobody)", home.path])
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o500], ofItemAtPath: cache.appendingPathComponent(readOnly).path)
        return cache
    }

    @Test(.enabled(if: PermissionTests.canSwitchUser, "cannot run as another user here"))
    func readOnlyFoldersGiveAClearErrorNamingThePathAndLoseNothing() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))

        let payload = #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"2099-01-01T00:00:00Z"}"#
        var checked: [String] = []
        // (folder made read-only, command, the path the error must name)
        let cases: [(String, [String], String)] = [
            ("queue", ["enqueue", "missed-billing.action", "--payload", payload], "queue"),
            ("queue", ["flush"], "queue"),
            ("collections", ["sync", "--no-flush"], "collections"),
            (".", ["sync"], ""),
            (".", ["sign-out", "--force"], ""),
        ]
        for (index, (readOnly, arguments, named)) in cases.enumerated() {
            let cache = try cache(named: "cache\(index)", readOnly: readOnly)
            let before = try snapshotFiles(under: cache)
            let result = try b1cacheAsNobody(arguments, cache: cache, server: server)
            let what = "\(arguments[0]) with \(readOnly) read-only"
            #expect(result.status != 0, "\(what): \(result.output)")
            #expect(
                result.errorOutput.contains("b1cache: error:") && result.errorOutput.contains("ermission denied"),
                "\(what): \(result.errorOutput)")
            let expectedPath = named.isEmpty ? cache.path : cache.appendingPathComponent(named).path
            #expect(
                result.errorOutput.contains(expectedPath), "\(what) should name \(expectedPath): \(result.errorOutput)")
            // Nothing lost: every file still there with its bytes (a flush may have sent writes; they stay queued).
            let after = try snapshotFiles(under: cache)
            for (name, data) in before where !name.hasPrefix("history") && !name.hasPrefix("collections/") {
                if name == "manifest.json", let now = after[name] {
                    // A pull that succeeded and brought nothing is recorded (confirmedAt); nothing else may change.
                    #expect(try unconfirmed(now) == unconfirmed(data), "\(what): the manifest changed")
                    continue
                }
                #expect(after[name] == data, "\(what): \(name) changed or vanished")
            }
            #expect(after.keys.allSatisfy { !$0.contains(".b1tmp-") }, "\(what): \(after.keys.sorted())")
            // Writable again: the same command works for its owner.
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o700], ofItemAtPath: cache.appendingPathComponent(readOnly).path)
            let retried = try b1cacheAsNobody(arguments, cache: cache, server: server)
            #expect(retried.status == 0, "\(what), made writable again: \(retried.output)\(retried.errorOutput)")
            checked.append("\(what) → exit \(result.status)")
        }
        Stress.record(
            "permissions",
            "as uid \(Self.nobody): \(checked.joined(separator: "; ")); each named the path, lost nothing, and worked once writable"
        )
    }

    /// A manifest without the records of pulls that brought nothing.
    func unconfirmed(_ data: Data) throws -> Manifest {
        var manifest = try Manifest.decode(data, path: "manifest.json")
        for (name, var entry) in manifest.collections {
            entry.confirmedAt = nil
            entry.confirmedCursor = nil
            manifest.collections[name] = entry
        }
        return manifest
    }
}
