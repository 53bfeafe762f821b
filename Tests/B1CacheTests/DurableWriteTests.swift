import B1Cache
import Foundation
import Testing

/// Every kind of file b1cache writes goes to disk by the durability rule: temp file, write, fsync, rename over the
/// destination, fsync of its folder, in that order; a removal is followed by an fsync of its folder. Checked on the
/// calls the real binary made (`B1CACHE_SYSCALL_LOG`, see `SystemCallTrace`), because a SIGKILL keeps the page cache
/// and no crash test can see a missing fsync.
@Suite(.perTestTimeLimit) final class DurableWriteTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")
    let server: ReferenceServer
    let log: URL

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
        log = folder.path("syscalls.log")
    }

    /// Runs b1cache with the system-call log on, and returns its result and the calls recorded so far.
    @discardableResult
    func b1cache(_ arguments: [String]) throws -> (result: CommandResult, trace: SystemCallTrace) {
        var environment = server.environment()
        environment["B1CACHE_SYSCALL_LOG"] = log.path
        let result = try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment)
        return (result, try SystemCallTrace(log: log, root: cache))
    }

    func pendingIds() throws -> [String] { try WriteQueue(paths: CachePaths(root: cache)).readablePending().map(\.id) }

    static let writeFile = #"queue/[0-9T.Z]+-[0-9]+-[^/]+\.json"#
    static let failedFile = #"failed/[0-9T.Z]+-[0-9]+-[^/]+\.json"#
    static let envelope = #"collections/[a-z-]+\.json"#

    @Test func enqueueCreatesEachWriteFileThroughAFsyncedTempAndFsyncsTheQueue() throws {
        let single = try b1cache([
            "enqueue", "missed-billing.action", "--payload",
            #"{"itemId":"\#(Sample.openItem)","action":"ignore"}"#,
        ])
        #expect(single.result.status == 0, "\(single.result.errorOutput)")
        #expect(single.trace.problems(replacingFilesMatching: Self.writeFile) == [])
        let batch = folder.path("batch.jsonl")
        try Data(
            EnqueueCommandTests.valid.dropFirst().map { #"{"kind":"\#($0.0)","payload":\#($0.1)}"# }
                .joined(separator: "\n").utf8
        ).write(to: batch)
        let batched = try b1cache(["enqueue", "--batch", batch.path])
        #expect(batched.result.status == 0, "\(batched.result.errorOutput)")
        #expect(batched.trace.problems(replacingFilesMatching: Self.writeFile, atLeast: 4) == [])
        // Staged in queue/.tmp/ (same filesystem, never seen by a reader of queue/).
        for rename in batched.trace.renames(into: Self.writeFile) {
            #expect(batched.trace.relative(SystemCallTrace.parent(rename.path)) == "queue/.tmp")
        }
    }

    @Test func flushWritesEnvelopesManifestHistoryAndLockOwnerDurablyBeforeAnyWriteFileGoes() throws {
        let flush = try b1cache(["flush"])
        #expect(flush.result.status == 0, "\(flush.result.errorOutput)")
        let trace = flush.trace
        for kind in [Self.envelope, "manifest\\.json", "history\\.jsonl", "flush\\.lock/owner\\.json"] {
            #expect(trace.problems(replacingFilesMatching: kind) == [], "\(kind)")
        }
        #expect(trace.problems(removingFilesMatching: Self.writeFile, atLeast: 3) == [])
        // The server's entities are in the envelope before a write file goes (a crash in between re-sends the write
        // and gets a duplicate; the other order would lose what the server did from the cache).
        let envelope = try #require(trace.firstIndex("fsync-dir", "collections"))
        let removal = try #require(trace.firstIndex("unlink", Self.writeFile))
        #expect(envelope < removal, "\(trace.calls)")
    }

    @Test func aRejectedWriteIsInFailedDurablyBeforeItsQueueFileGoes() throws {
        let ids = try pendingIds()
        try server.admin("admin/faults", ["conflictIds": [.string(ids[1])]])
        let flush = try b1cache(["flush"])
        #expect(flush.result.status == 3, "\(flush.result.errorOutput)")
        let trace = flush.trace
        #expect(trace.problems(replacingFilesMatching: Self.failedFile) == [])
        let name = try #require(
            trace.renames(into: Self.failedFile).first?.destination.map { ($0 as NSString).lastPathComponent })
        let moved = try #require(trace.firstIndex("fsync-dir", "failed"))
        let removed = try #require(trace.firstIndex("unlink", "queue/" + NSRegularExpression.escapedPattern(for: name)))
        #expect(moved < removed)
    }

    @Test func aWriteThatMustWaitIsRewrittenDurablyWithItsAttempt() throws {
        try server.admin("admin/faults", ["status": 503, "count": 1, "path": "/v1/writes"])
        let flush = try b1cache(["flush"])
        #expect(flush.result.status == 3, "\(flush.result.errorOutput)")
        #expect(flush.trace.problems(replacingFilesMatching: Self.writeFile) == [])
        #expect(flush.trace.problems(replacingFilesMatching: "history\\.jsonl") == [])
    }

    @Test func syncReplacesEveryEnvelopeAndTheManifestDurably() throws {
        // A first sync, into an empty folder, writes all nine envelopes (a sync that brings no change writes none).
        cache = folder.path("fresh")
        let sync = try b1cache(["sync", "--no-flush"])
        #expect(sync.result.status == 0, "\(sync.result.errorOutput)")
        #expect(
            sync.trace.problems(replacingFilesMatching: Self.envelope, atLeast: CollectionName.allCases.count) == [])
        #expect(sync.trace.problems(replacingFilesMatching: "manifest\\.json") == [])
    }

    @Test func retryAndDropMoveAndRemoveWriteFilesDurably() throws {
        let failed = try #require(try WriteQueue(paths: CachePaths(root: cache)).list(.failed).first?.write?.id)
        let retry = try b1cache(["retry", failed])
        #expect(retry.result.status == 0, "\(retry.result.errorOutput)")
        #expect(retry.trace.problems(replacingFilesMatching: Self.writeFile) == [])
        #expect(retry.trace.problems(removingFilesMatching: Self.failedFile) == [])
        let drop = try b1cache(["drop", try pendingIds()[0]])
        #expect(drop.result.status == 0, "\(drop.result.errorOutput)")
        #expect(drop.trace.problems(removingFilesMatching: Self.writeFile) == [])
    }

    @Test func signOutExportsDurablyBeforeTheWipe() throws {
        let export = folder.path("exported/pending.jsonl")
        try FileManager.default.createDirectory(
            at: export.deletingLastPathComponent(), withIntermediateDirectories: true)
        let signOut = try b1cache(["sign-out", "--export-pending", export.path])
        #expect(signOut.result.status == 0, "\(signOut.result.errorOutput)")
        let trace = signOut.trace
        let exportPattern = NSRegularExpression.escapedPattern(for: export.path)
        #expect(trace.problems(replacingFilesMatching: exportPattern) == [])
        // The export is durable before the cache is renamed aside for the wipe, and the rename is made durable.
        let exported = try #require(
            trace.calls.first { $0.name == "fsync-dir" && $0.path == export.deletingLastPathComponent().path })
        let wipe = try #require(trace.calls.first { $0.name == "rename" && $0.path == cache.path })
        #expect(exported.index < wipe.index)
        #expect(trace.calls[wipe.index...].contains { $0.name == "fsync-dir" && $0.path == folder.url.path })
    }

    @Test func backupFsyncsEveryFileAndFolderBeforeRenamingTheWholeCopyIntoPlace() throws {
        let destination = folder.path("backups/copy")
        try FileManager.default.createDirectory(
            at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let backup = try b1cache(["backup", destination.path])
        #expect(backup.result.status == 0, "\(backup.result.errorOutput)")
        let calls = backup.trace.calls
        let rename = try #require(calls.first { $0.name == "rename" && $0.destination == destination.path })
        let staging = rename.path
        let before = calls[..<rename.index]
        let created = before.filter { $0.name == "create" && $0.path.hasPrefix(staging + "/") }
        #expect(created.count >= 14)  // manifest, 9 envelopes, 3 queued and 1 failed write
        for file in created {
            let synced = before.last { $0.name == "fsync" && $0.path == file.path }
            let written = before.last { $0.name == "write" && $0.path == file.path }
            #expect(
                synced != nil && (written?.index ?? 0) < (synced?.index ?? 0), "\(file) not fsynced after its writes")
            let folder = SystemCallTrace.parent(file.path)
            #expect(
                before.contains { $0.name == "fsync-dir" && $0.path == folder && $0.index > file.index },
                "\(file): its folder not fsynced before the copy was renamed into place")
        }
        #expect(
            calls[rename.index...].contains {
                $0.name == "fsync-dir" && $0.path == destination.deletingLastPathComponent().path
            })
    }
}
