import B1Cache
import Foundation
import Testing

/// The cache on a full filesystem (a small tmpfs): enqueue and sync fail with a clear error and a non-zero exit,
/// nothing partial is left, the old data is intact, and everything works again once space is freed.
/// Needs permission to mount a tmpfs (root here); where that is refused the scenario is skipped, not passed.
@Suite(.perTestTimeLimit) final class DiskFullTests {
    let folder = TemporaryFolder()

    /// Whether this process may mount a tmpfs (tried once on a throwaway folder).
    static let canMount: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent(
            "b1cache-mount-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: probe) }
        guard (try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)) != nil,
            let mounted = try? CommandRunner.run(
                URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path]),
            mounted.status == 0
        else {
            Stress.record("disk-full", "skipped: mounting a tmpfs is not permitted here")
            return false
        }
        _ = try? CommandRunner.run(URL(fileURLWithPath: "/bin/umount"), [probe.path])
        return true
    }()

    @Test(.enabled(if: DiskFullTests.canMount, "mounting a tmpfs is not permitted here"))
    func aFullDiskFailsCleanlyAndEverythingWorksOnceSpaceIsFreed() throws {
        let mount = folder.path("small")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        let mounted = try CommandRunner.run(
            URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", mount.path])
        #expect(mounted.status == 0, "\(mounted.errorOutput)")
        defer { _ = try? CommandRunner.run(URL(fileURLWithPath: "/bin/umount"), ["-l", mount.path]) }
        let cache = try Repository.copySampleCache(to: mount.appendingPathComponent("cache"))
        let server = try ReferenceServer(database: folder.path("server.db"))
        func b1cache(_ arguments: [String]) throws -> CommandResult {
            try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: server.environment())
        }
        let sampleWrites = try WriteQueue(paths: CachePaths(root: cache)).readablePending().map(\.id)

        // Fill the filesystem to the last byte.
        let filler = mount.appendingPathComponent("filler")
        FileManager.default.createFile(atPath: filler.path, contents: nil)
        let handle = try FileHandle(forWritingTo: filler)
        let chunk = Data(repeating: 0x41, count: 4096)
        var filled = 0
        while (try? handle.write(contentsOf: chunk)) != nil { filled += chunk.count }
        try? handle.close()
        let before = try snapshotFiles(under: cache)

        let payload = #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"2099-01-01T00:00:00Z"}"#
        let enqueue = try b1cache(["enqueue", "missed-billing.action", "--payload", payload])
        #expect(enqueue.status == 1, "\(enqueue.output)\(enqueue.errorOutput)")
        #expect(
            enqueue.errorOutput.contains("No space left on device") && enqueue.errorOutput.contains(cache.path),
            "\(enqueue.errorOutput)")
        #expect(try snapshotFiles(under: cache) == before)

        let sync = try b1cache(["sync"])
        #expect(sync.status != 0)
        #expect(sync.errorOutput.contains("No space left on device"), "\(sync.errorOutput)")
        let afterSync = try snapshotFiles(under: cache)
        for (name, data) in before where !name.hasPrefix("history") {
            #expect(afterSync[name] == data, "\(name) changed on a full disk")
        }
        #expect(afterSync.keys.allSatisfy { !$0.contains(".b1tmp-") }, "\(afterSync.keys.sorted())")

        // Space back: the same commands work, and the writes the server took before are not applied twice.
        try FileManager.default.removeItem(at: filler)
        let again = try b1cache(["enqueue", "missed-billing.action", "--payload", payload])
        #expect(again.status == 0, "\(again.errorOutput)")
        let resync = try b1cache(["sync"])
        #expect(resync.status == 0, "\(resync.output)\(resync.errorOutput)")
        let applied = try server.appliedCounts()
        for id in sampleWrites { #expect(applied[id] == 1, "\(id) applied \(applied[id] ?? 0) times") }
        #expect(try WriteQueue(paths: CachePaths(root: cache)).readablePending().isEmpty)
        #expect(try b1cache(["verify"]).status == 0)
        Stress.record(
            "disk-full",
            "1 MB tmpfs filled (\(filled / 1024) KiB of filler): enqueue exit \(enqueue.status), sync exit \(sync.status), "
                + "files unchanged and no temp left; after freeing space enqueue exit \(again.status), sync exit \(resync.status), "
                + "\(sampleWrites.filter { applied[$0] == 1 }.count) of \(sampleWrites.count) writes applied exactly once"
        )
    }
}
