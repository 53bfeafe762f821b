import B1Cache
import Foundation
import Testing

/// Secrets and isolation (docs/RELIABILITY.md): the token is written into no file of the cache; a symbolic link
/// where the cache expects a real folder or file, or a folder owned by another user, is refused and nothing behind
/// it is read or changed; files are 0600 and folders 0700 whatever the umask. Every claim through the binary.
@Suite(.perTestTimeLimit) final class IsolationTests {
    let folder = TemporaryFolder()
    /// A token no file could hold by chance, so finding it anywhere means b1cache wrote it.
    let token = "b1-isolation-\(UUID().uuidString.lowercased())"
    let server: ReferenceServer
    lazy var cache: URL = folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"), devToken: token)
    }

    func b1cache(
        _ arguments: [String], root: URL? = nil, umask: String? = nil,
        environment extra: [String: String] = [:]
    ) throws -> CommandResult {
        let online = ["flush", "sync"].contains(arguments.first ?? "")
        var environment = server.environment(token: token)
        environment.merge(extra) { $1 }
        return try CommandRunner.b1cache(
            arguments + ["--cache-dir", (root ?? cache).path] + (online ? ["--timeout", "5s"] : []),
            environment: environment, umask: umask)
    }

    func pendingIds(_ root: URL) throws -> [String] {
        try WriteQueue(paths: CachePaths(root: root)).readablePending().map(\.id)
    }

    // MARK: The token

    @Test func afterFlushAndSyncTheTokenIsInNoFileUnderTheRoot() throws {
        _ = try Repository.copySampleCache(to: cache)
        let ids = try pendingIds(cache)
        try #require(ids.count == 3)
        // One write is rejected with a message that quotes the request's Authorization header back.
        try server.admin("admin/faults", ["conflictIds": [.string(ids[1])], "echoToken": true])
        let flush = try b1cache(["flush"])
        #expect(flush.status == 3, "\(flush.output)\(flush.errorOutput)")
        let tokenFile = folder.path("token.txt")  // outside the root, as a user would keep it
        try Data((token + "\n").utf8).write(to: tokenFile)
        let sync = try b1cache(["sync", "--token-file", tokenFile.path], environment: ["B1_TOKEN": ""])
        #expect(sync.status == 0, "\(sync.output)\(sync.errorOutput)")
        let fresh = folder.path("fresh/cache")  // a first sync into an empty root
        let first = try b1cache(["sync", "--token-file", tokenFile.path], root: fresh, environment: ["B1_TOKEN": ""])
        #expect(first.status == 0, "\(first.output)\(first.errorOutput)")

        // The sweep has something to look at: the rejection reached the history and failed/, without the token.
        let failed = try #require(
            try WriteQueue(paths: CachePaths(root: cache)).list(.failed).compactMap(\.write).first { $0.id == ids[1] })
        #expect(failed.lastError?.contains("[token removed]") == true, "\(failed.lastError ?? "no lastError")")
        let history = try String(decoding: Data(contentsOf: CachePaths(root: cache).history), as: UTF8.self)
        #expect(history.contains(ids[1]) && history.contains("[token removed]"))
        var swept = 0
        for root in [cache, fresh] {
            for (name, data) in try snapshotFiles(under: root) {
                swept += 1
                #expect(!name.contains(token))
                #expect(data.range(of: Data(token.utf8)) == nil, "the token was written into \(name)")
            }
        }
        #expect(swept > 20)
        for result in [flush, sync, first] { #expect(!(result.output + result.errorOutput).contains(token)) }
    }

    // MARK: Symbolic links

    /// Where a planted link stands, and the commands that must refuse to go through it.
    enum LinkPlace: String, CaseIterable, Sendable {
        case root, queue, queueStaging, collections, failed, lockFolder, lockOwner

        func link(in paths: CachePaths) -> URL {
            switch self {
            case .root: paths.root
            case .queue: paths.queue
            case .queueStaging: paths.queueStaging
            case .collections: paths.collections
            case .failed: paths.failed
            case .lockFolder: paths.lock
            case .lockOwner: paths.lockOwner
            }
        }

        func commands(pending id: String, failed failedId: String, enqueue payload: String) -> [[String]] {
            let enqueue = ["enqueue", "missed-billing.action", "--payload", payload]
            switch self {
            case .root:
                return [
                    ["inspect"], ["show", "invoices"], ["queue"], ["queue", "show", id], ["drop", id],
                    ["retry", "--all"],
                    enqueue, ["log"], ["flush"], ["sync"], ["sign-out", "--force"],
                ]
            case .queue:
                return [
                    ["inspect"], ["queue"], ["queue", "show", id], ["drop", id],
                    ["show", "missed-billing", "--with-pending"],
                    enqueue, ["flush"], ["sync"], ["sign-out", "--force"],
                ]
            case .queueStaging: return [enqueue, ["flush"], ["sync"]]
            case .collections:
                return [
                    ["show", "invoices"], ["show", "missed-billing", "--with-pending"], enqueue, ["flush"], ["sync"],
                ]
            case .failed:
                return [
                    ["inspect"], ["queue", "--failed"], ["drop", failedId], ["retry", "--all"], ["flush"], ["sync"],
                ]
            // (sign-out --force wipes past a planted lock link by design: HostileFileTests checks it.)
            case .lockFolder, .lockOwner: return [["flush"], ["sync"]]
            }
        }
    }

    @Test(arguments: LinkPlace.allCases)
    func aSymbolicLinkIsRefusedAndNothingBehindItIsReadOrChanged(_ place: LinkPlace) throws {
        let paths = CachePaths(root: cache)
        let outside = folder.path("outside")
        if place == .root {
            _ = try Repository.copySampleCache(to: outside)
        } else {
            _ = try Repository.copySampleCache(to: cache)
        }
        let id = try #require(try pendingIds(place == .root ? outside : cache).first)
        let failedId = try #require(
            try WriteQueue(paths: CachePaths(root: place == .root ? outside : cache)).list(.failed)
                .compactMap(\.write).first?.id)
        let item = try #require(
            try CacheStore(paths: CachePaths(root: place == .root ? outside : cache)).envelope(for: .missedBilling)?
                .items.first { $0["status"]?.stringValue == "open" }?["id"]?.stringValue)
        let link = place.link(in: paths)
        switch place {
        case .root:
            break
        case .queue, .collections, .failed:
            try FileManager.default.moveItem(at: link, to: outside)
        case .queueStaging:
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: false)
            try? FileManager.default.removeItem(at: link)
        case .lockFolder, .lockOwner:
            // A decoy that reads as the lock of a live process (this test's own), so following it would matter.
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: false)
            try LockOwner.current(command: "decoy").encoded().write(to: outside.appendingPathComponent("owner.json"))
            if place == .lockOwner {
                try FileManager.default.createDirectory(at: paths.lock, withIntermediateDirectories: false)
            }
        }
        let target = place == .lockOwner ? outside.appendingPathComponent("owner.json") : outside
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let behind = try snapshotFiles(under: outside)
        let names = try FileManager.default.contentsOfDirectory(atPath: outside.path).sorted()

        let payload = "{\"itemId\":\"\(item)\",\"action\":\"ignore\"}"
        for command in place.commands(pending: id, failed: failedId, enqueue: payload) {
            let result = try b1cache(command)
            #expect(result.status != 0, "\(command) went through the link: \(result.output)")
            #expect(
                result.errorOutput.hasPrefix("b1cache: error: ") && result.errorOutput.contains("symbolic link"),
                "\(command): \(result.errorOutput)")
            #expect(
                !result.errorOutput.contains("another b1cache process"), "\(command): a planted lock is not a process")
        }
        #expect(try snapshotFiles(under: outside) == behind, "something behind the link changed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).sorted() == names)
        #expect(try server.appliedCounts().isEmpty, "a write was sent")
        guard place != .root else { return }  // a linked root is the user's to fix: verify refuses it like the rest

        let verify = try b1cache(["verify"])
        #expect(verify.status == 8)
        #expect(verify.output.contains("symbolicLink") && verify.output.contains(link.path), "\(verify.output)")
        let repair = try b1cache(["verify", "--repair"])
        #expect(repair.status == 0, "\(repair.output)\(repair.errorOutput)")
        #expect(!isSymbolicLink(link), "the repair left the link in place")
        #expect(try snapshotFiles(under: outside) == behind, "the repair changed what the link pointed to")
        // A lock folder whose owner.json was moved away counts as just created for its grace period (10 s).
        let after = try b1cache(
            place == .failed ? ["queue", "--failed"] : place == .lockOwner ? ["flush", "--wait"] : ["flush"])
        #expect(after.status == 0, "after the repair: \(after.output)\(after.errorOutput)")
    }

    /// lstat(2): true for a symbolic link, whatever it points to (or if it points nowhere).
    func isSymbolicLink(_ url: URL) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType) == .typeSymbolicLink
    }

    // MARK: Another user's folder

    @Test(
        .enabled(if: getuid() == 0, "only root can give a folder to another user"),
        arguments: ["root", "queue", "collections"])
    func aFolderOwnedByAnotherUserIsRefused(_ which: String) throws {
        _ = try Repository.copySampleCache(to: cache)
        let paths = CachePaths(root: cache)
        let foreign = ["root": paths.root, "queue": paths.queue, "collections": paths.collections][which] ?? paths.root
        let id = try #require(try pendingIds(cache).first)
        #expect(chown(foreign.path, 65534, 65534) == 0)
        let before = try snapshotFiles(under: cache)
        // The commands that use that folder.
        let commands: [[String]] =
            switch which {
            case "queue":
                [
                    ["flush"], ["sync"], ["inspect"], ["queue"], ["drop", id], ["retry", "--all"],
                    ["show", "missed-billing", "--with-pending"],
                ]
            case "collections": [["flush"], ["sync"], ["show", "invoices"]]
            default:
                [
                    ["flush"], ["sync"], ["inspect"], ["show", "invoices"], ["queue"], ["drop", id],
                    ["retry", "--all"],
                    ["log"], ["verify"], ["sign-out", "--force"],
                ]
            }
        for command in commands {
            let result = try b1cache(command)
            #expect(result.status != 0, "\(command) used a folder of uid 65534: \(result.output)")
            #expect(
                result.errorOutput.contains("belongs to another user (uid 65534)"), "\(command): \(result.errorOutput)")
        }
        #expect(try snapshotFiles(under: cache) == before)
        #expect(try server.appliedCounts().isEmpty)
    }

    // MARK: Modes

    @Test func filesAre0600AndFoldersAre0700UnderUmask000() throws {
        let root = folder.path("fresh/cache")
        #expect(try b1cache(["sync"], root: root, umask: "000").status == 0)
        let open = try #require(
            try CacheStore(paths: CachePaths(root: root)).envelope(for: .missedBilling)?.items
                .compactMap { $0["status"]?.stringValue == "open" ? $0["id"]?.stringValue : nil })
        try #require(open.count >= 2)
        for item in open.prefix(2) {
            let result = try b1cache(
                ["enqueue", "missed-billing.action", "--payload", "{\"itemId\":\"\(item)\",\"action\":\"ignore\"}"],
                root: root, umask: "000")
            #expect(result.status == 0, "\(result.errorOutput)")
        }
        let ids = try pendingIds(root)
        // One write is rejected (failed/ and history.jsonl get written); requests are slow, so the held lock can be seen.
        try server.admin("admin/faults", ["conflictIds": [.string(ids[0])], "latencyMs": 1000])
        let lock = CachePaths(root: root).lock
        let seen = Locked<[String: UInt16]>()
        let watcher = Thread {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let owner = lock.appendingPathComponent("owner.json")
                if let folderMode = try? FileManager.default.attributesOfItem(atPath: lock.path)[.posixPermissions]
                    as? NSNumber,
                    let ownerMode = try? FileManager.default.attributesOfItem(atPath: owner.path)[.posixPermissions]
                        as? NSNumber
                {
                    seen.set(["flush.lock": folderMode.uint16Value, "flush.lock/owner.json": ownerMode.uint16Value])
                    return
                }
                usleep(5000)
            }
        }
        watcher.start()
        let flush = try b1cache(["flush"], root: root, umask: "000")
        #expect(flush.status == 3, "\(flush.output)\(flush.errorOutput)")
        #expect(seen.value == ["flush.lock": 0o700, "flush.lock/owner.json": 0o600], "the lock while held")
        #expect(try b1cache(["verify", "--repair"], root: root, umask: "000").status == 0)

        var checked: Set<String> = []
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var entries = [""]
        while let relative = enumerator?.nextObject() as? String { entries.append(relative) }
        for relative in entries {
            let path = relative.isEmpty ? root.path : root.appendingPathComponent(relative).path
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0
            let isFolder = attributes[.type] as? FileAttributeType == .typeDirectory
            #expect(
                mode == (isFolder ? 0o700 : 0o600),
                "\(relative.isEmpty ? "the root" : relative): \(String(mode, radix: 8))")
            checked.insert(relative.split(separator: "/").first.map(String.init) ?? "")
        }
        #expect(
            checked.isSuperset(of: ["", "manifest.json", "collections", "queue", "failed", "history.jsonl"]),
            "\(checked)")
    }
}
