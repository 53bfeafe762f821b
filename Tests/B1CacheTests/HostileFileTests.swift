import B1Cache
import Foundation
import Testing

/// The hostile-files corpus (`HostileFile.all`): each case plants one malformed, hostile or merely odd file in a
/// copy of SampleCache and runs the real binary over it. Whatever the file, b1cache exits (never a crash, never a
/// hang) with a documented code; a command that needs the file names it on stderr and says what to do; `verify`
/// reports it (exit 8); `verify --repair` moves it unchanged to quarantine/ (files of a newer b1cache are left
/// alone); and every other file is byte-identical afterwards.
@Suite(.perTestTimeLimit) final class HostileFileTests {
    let folder = TemporaryFolder()
    static let fiftyMegabytes = Data(repeating: UInt8(ascii: "x"), count: 50_000_000)

    @Test func theCorpusHasMoreThanFiftyCasesCoveringEveryKindOfFile() {
        #expect(HostileFile.all.count >= 50)
        #expect(Set(HostileFile.all.map(\.name)).count == HostileFile.all.count)
        #expect(HostileFile.envelopes.count >= 10 && HostileFile.manifests.count >= 10)
        #expect(HostileFile.writes.count >= 10)
        #expect(HostileFile.locks.count >= 5 && HostileFile.histories.count >= 3)
    }

    @Test(arguments: HostileFile.all)
    func aHostileFileIsReportedQuarantinedAndLosesNothingElse(_ hostile: HostileFile) throws {
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        let outside = try makeOutside(for: hostile, cache: cache)
        let before = try snapshotFiles(under: cache)
        let outsideBefore = try snapshotFiles(under: outside)
        try plant(hostile, in: cache, outside: outside)
        let path = cache.appendingPathComponent(hostile.relativePath).path

        try checkCommands(hostile, cache: cache, path: path)
        try checkVerifyAndRepair(hostile, cache: cache, path: path)
        try checkWhatMoved(hostile, cache: cache, outside: outside)
        try checkNothingElseChanged(hostile, cache: cache, before: before)
        if case .linkOutside = hostile.content {
            // Wiping a cache with a link in it deletes the link, never what it points to.
            let signedOut = try b1cache(["sign-out", "--force"], cache)
            #expect(signedOut.status == 0, "\(signedOut.errorOutput)")
            #expect(!FileManager.default.fileExists(atPath: cache.path))
        }
        #expect(try snapshotFiles(under: outside) == outsideBefore, "a file outside the cache changed")
    }

    @Test(arguments: HostileFile.locks)
    func signOutForceBreaksAStaleHostileLockAndWipes(_ hostile: HostileFile) throws {
        let cache = try Repository.copySampleCache(to: folder.path("cache"))
        let outside = try makeOutside(for: hostile, cache: cache)
        try plant(hostile, in: cache, outside: outside)
        let result = try b1cache(["sign-out", "--force"], cache)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: cache.path))
    }

    // MARK: Commands

    /// Runs b1cache on the cache; whatever happens, it must exit by itself with a documented code.
    func b1cache(_ arguments: [String], _ cache: URL) throws -> CommandResult {
        let result = try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], timeout: 60)
        let command = "b1cache " + arguments.joined(separator: " ")
        #expect(!result.killedBySignal, "\(command) crashed or hung: \(result.errorOutput)")
        #expect((0...8).contains(result.status), "\(command) exited \(result.status)")
        return result
    }

    /// The error (or warning) names the file and says what to do.
    func expectExplained(_ result: CommandResult, _ path: String, _ command: String, newer: Bool = false) {
        #expect(result.errorOutput.contains(path), "\(command): \(result.errorOutput)")
        let advice = newer ? "upgrade b1cache" : "hint: "
        #expect(result.errorOutput.contains(advice), "\(command): \(result.errorOutput)")
    }

    func checkCommands(_ hostile: HostileFile, cache: URL, path: String) throws {
        let bad = hostile.outcome == .quarantined || hostile.outcome == .newerSchema
        let newer = hostile.outcome == .newerSchema
        switch hostile.place {
        case .envelope(let name):
            #expect(try b1cache(["inspect"], cache).status == 0, "inspect answers from the manifest alone")
            let shown = try b1cache(["show", "invoices"], cache)
            if name == "invoices.json" && bad {
                #expect(shown.status == (newer ? 1 : 8))
                expectExplained(shown, path, "show", newer: newer)
            } else {
                #expect(shown.status == 0, "\(shown.errorOutput)")
            }
        case .manifest:
            let inspected = try b1cache(["inspect"], cache)
            #expect(inspected.status == (bad ? (newer ? 1 : 8) : 0))
            if bad { expectExplained(inspected, path, "inspect", newer: newer) }
            #expect(try b1cache(["show", "clients"], cache).status == 0)
        case .queueFile(let name), .failedFile(let name):
            let failed: Bool
            if case .failedFile = hostile.place { failed = true } else { failed = false }
            #expect(try b1cache(["inspect"], cache).status == 0)
            let listed = try b1cache(failed ? ["queue", "--failed"] : ["queue"], cache)
            #expect(listed.status == 0)
            // The queue lists *.json names only; anything else is verify's to report.
            let warned = bad && name.hasSuffix(".json")
            if warned {
                expectExplained(listed, path, "queue", newer: newer)
            } else {
                #expect(listed.errorOutput.isEmpty)
            }
            guard !failed else { break }
            let dryRun = try b1cache(["flush", "--dry-run"], cache)
            #expect(dryRun.status == 0)
            let replaced = bad && name == SampleFiles.writeName
            #expect(dryRun.output.contains("Would send \(replaced ? 2 : 3) writes"), "\(dryRun.output)")
            if warned { expectExplained(dryRun, path, "flush --dry-run", newer: newer) }
            let overlaid = try b1cache(["show", "missed-billing", "--with-pending"], cache)
            #expect(overlaid.status == 0)
            if warned { expectExplained(overlaid, path, "show --with-pending", newer: newer) }
        case .queueFolder:
            for command in [["inspect"], ["queue"], ["flush", "--dry-run"]] {
                let result = try b1cache(command, cache)
                #expect(result.status == 8)
                expectExplained(result, path, command[0])
            }
        case .lockOwner, .lockFile:
            let inspected = try b1cache(["inspect", "--json"], cache)
            #expect(inspected.status == 0)
            #expect(try JSONParser.parse(inspected.output)["lock"]?["held"] == .bool(true))
        case .history:
            let log = try b1cache(["log"], cache)
            if case .linkOutside = hostile.content {
                #expect(log.status == 8)
            } else {
                #expect(log.status == 0)
            }
            expectExplained(log, path, "log")
        }
    }

    func checkVerifyAndRepair(_ hostile: HostileFile, cache: URL, path: String) throws {
        // A lock problem is the lock folder's, except a link planted as owner.json: that is reported (and moved to
        // quarantine/) as the link it is, like every link in the cache (IsolationTests).
        var plantedLink = false
        if case .linkOutside = hostile.content { plantedLink = true }
        let reported = hostile.place.isLock && !plantedLink ? cache.appendingPathComponent("flush.lock").path : path
        let verified = try b1cache(["verify"], cache)
        if hostile.outcome == .accepted {
            // Valid after all: at most the manifest's entry disagrees with the envelope that was replaced.
            let problems = try b1cache(["verify", "--json"], cache).lines.map { try JSONParser.parse($0) }
            #expect(problems.allSatisfy { $0["kind"] == "manifestMismatch" }, "\(problems)")
        } else {
            #expect(verified.status == 8)
            #expect(verified.output.contains(reported), "\(verified.output)")
        }
        let repaired = try b1cache(["verify", "--repair", "--json"], cache)
        let problems = try repaired.lines.map { try JSONParser.parse($0) }
        let own = problems.first { $0["path"]?.stringValue == reported }
        switch hostile.outcome {
        case .quarantined:
            #expect(repaired.status == 0, "\(repaired.output)")
            #expect(own?["repair"]?.stringValue?.contains("quarantine") == true, "\(problems)")
        case .newerSchema:
            #expect(repaired.status == 8)
            #expect(own?["kind"] == "newerSchema" && own?["repair"] == .null, "\(problems)")
        case .accepted:
            #expect(repaired.status == 0)
            #expect(own == nil, "\(problems)")
        case .staleLockRemoved:
            #expect(repaired.status == 0)
            #expect(own?["kind"] == "staleLock", "\(problems)")
            #expect(own?["repair"]?.stringValue?.contains("removed") == true, "\(problems)")
        }
        let again = try b1cache(["verify"], cache)
        #expect(again.status == (hostile.outcome == .newerSchema ? 8 : 0), "\(again.output)")
    }

    // MARK: Files

    /// Where the planted file went: quarantine/ (unchanged), or nowhere.
    func checkWhatMoved(_ hostile: HostileFile, cache: URL, outside: URL) throws {
        let planted = cache.appendingPathComponent(hostile.relativePath)
        let quarantine = cache.appendingPathComponent("quarantine")
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: quarantine.path)) ?? []
        let suffix = "-" + hostile.relativePath.replacingOccurrences(of: "/", with: "__")
        switch hostile.outcome {
        case .quarantined:
            if case .manifest = hostile.place {
                // Rebuilt from the envelopes; the account comes back with the next sync.
                let rebuilt = try Manifest.decode(try Data(contentsOf: planted), path: planted.path)
                #expect(rebuilt.collections.count == CollectionName.allCases.count && rebuilt.account == nil)
            } else {
                #expect(!exists(planted), "\(planted.path) is still there")
            }
            let name = try #require(kept.first { $0.hasSuffix(suffix) }, "no \(suffix) in quarantine/: \(kept)")
            try expectSameContent(quarantine.appendingPathComponent(name), as: hostile.content, outside: outside)
            #expect(kept.count == 1, "\(kept)")
        case .newerSchema, .accepted:
            try expectSameContent(planted, as: hostile.content, outside: outside)
            #expect(kept.isEmpty, "\(kept)")
        case .staleLockRemoved:
            #expect(kept.isEmpty, "\(kept)")
        }
        if hostile.place.isLock && hostile.outcome != .newerSchema {
            #expect(!exists(cache.appendingPathComponent("flush.lock")))
        }
    }

    /// Every file but the planted one, quarantine/ and (when an envelope or the manifest was the target) the
    /// manifest is byte-identical; the manifest is what `verify --repair` rebuilds from the envelopes.
    func checkNothingElseChanged(_ hostile: HostileFile, cache: URL, before: [String: Data]) throws {
        let after = try snapshotFiles(under: cache)
        let target = hostile.relativePath
        func compared(_ relative: String) -> Bool {
            if relative == target || relative.hasPrefix(target + "/") { return false }
            if relative.hasPrefix("quarantine/") { return false }
            if case .queueFolder = hostile.place, relative.hasPrefix("queue/") { return false }  // moved outside
            if case .envelope = hostile.place, relative == "manifest.json" { return false }
            return true
        }
        for relative in Set(before.keys).union(after.keys) where compared(relative) {
            #expect(before[relative] == after[relative], "\(relative) changed")
        }
        guard case .envelope = hostile.place else { return }
        let manifest = try Manifest.decode(try #require(after["manifest.json"]), path: "manifest.json")
        let original = try Manifest.decode(try #require(before["manifest.json"]), path: "manifest.json")
        for collection in CollectionName.allCases where collection != .invoices {
            #expect(manifest.collections[collection] == original.collections[collection], "\(collection)")
        }
        #expect(manifest.account == original.account)
        let invoices = cache.appendingPathComponent("collections/invoices.json")
        let size = exists(invoices) ? try Data(contentsOf: invoices).count : nil
        #expect(manifest.collections[.invoices]?.bytes == size)
    }

    func expectSameContent(_ url: URL, as content: HostileFile.Content, outside: URL) throws {
        switch content {
        case .bytes(let data):
            #expect(try Data(contentsOf: url) == data)
        case .fiftyMegabytes(let prefix, let suffix):
            let size = prefix.utf8.count + Self.fiftyMegabytes.count + suffix.utf8.count
            #expect(try Data(contentsOf: url).count == size)
        case .linkOutside:
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: url.path).hasPrefix(outside.path))
        case .pipe:
            #expect(try type(of: url) != .typeRegular)
        case .folder:
            #expect(try type(of: url) == .typeDirectory)
        }
    }

    func exists(_ url: URL) -> Bool { (try? FileManager.default.attributesOfItem(atPath: url.path)) != nil }

    func type(of url: URL) throws -> FileAttributeType? {
        try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
    }

    /// A folder outside the cache that links point at: a valid file of the planted kind (b1cache must still not
    /// read it through a link), and for a linked queue/ the cache's own queue, moved there.
    func makeOutside(for hostile: HostileFile, cache: URL) throws -> URL {
        let outside = folder.path("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let sample: String
        switch hostile.place {
        case .envelope: sample = SampleFiles.invoices
        case .manifest: sample = SampleFiles.manifest
        case .queueFile, .failedFile: sample = SampleFiles.write
        case .lockOwner, .lockFile: sample = SampleFiles.owner
        case .history: sample = SampleFiles.history
        case .queueFolder:
            try FileManager.default.moveItem(
                at: cache.appendingPathComponent("queue"),
                to: outside.appendingPathComponent("queue"))
            return outside
        }
        try sample.data.write(to: outside.appendingPathComponent("secret.json"))
        return outside
    }

    func plant(_ hostile: HostileFile, in cache: URL, outside: URL) throws {
        let url = cache.appendingPathComponent(hostile.relativePath)
        let files = FileManager.default
        if case .lockOwner = hostile.place {
            try files.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700])
        }
        if exists(url) { try files.removeItem(at: url) }
        switch hostile.content {
        case .bytes(let data):
            try data.write(to: url)
        case .fiftyMegabytes(let prefix, let suffix):
            try (prefix.data + Self.fiftyMegabytes + suffix.data).write(to: url)
        case .linkOutside:
            let target = outside.appendingPathComponent(hostile.place.isFolder ? "queue" : "secret.json")
            try files.createSymbolicLink(at: url, withDestinationURL: target)
        case .pipe:
            #expect(mkfifo(url.path, 0o600) == 0)
        case .folder:
            try files.createDirectory(
                at: url, withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700])
        }
        if try type(of: url) == .typeRegular {
            // The mode b1cache gives its files, so verify has nothing else to say.
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        }
        if hostile.place.isLock {
            // An hour old: past the grace period of a lock without a readable owner.
            let lock = cache.appendingPathComponent("flush.lock")
            try files.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: lock.path)
        }
    }
}
