import Foundation

/// One thing `verify` found wrong.
public struct VerifyProblem: Sendable, Equatable {
    /// What kind of problem (FORMATS.md §8 lists what `--repair` does for each).
    public enum Kind: String, Sendable {
        case unreadable, newerSchema, strayTemp, staleLock, manifestMismatch, unexpectedFile, wrongMode, symbolicLink
        case staleQueueIndex
    }

    /// What kind of problem.
    public var kind: Kind
    /// The file or folder it is about.
    public var path: String
    /// What is wrong, as a sentence.
    public var detail: String
    /// What `--repair` did about it; nil when not repaired (or not asked to).
    public var repair: String?
}

/// Checks every file of a cache, and with `repair` puts it right without ever deleting data: unreadable files
/// go to `quarantine/`, temp orphans are swept, manifest entries are rebuilt from the envelopes, modes reset.
public struct Verifier {
    /// The cache being checked.
    public let paths: CachePaths
    /// Put right what can be put right (never deleting data).
    public var repair: Bool
    /// Checks the lock (supplied by the lock module, which knows when a lock is stale).
    public var lockCheck: (@Sendable (CachePaths) throws -> String?)?
    /// With `repair`, breaks a stale lock (supplied by the lock module too); it is handed the function that moves
    /// a file to quarantine/, for an owner.json that cannot be read. Returns what it did, nil when it did nothing.
    public var lockRepair: (@Sendable (CachePaths, _ quarantine: (URL) throws -> String) throws -> String?)?

    /// A verifier; without the lock closures the lock is not judged (`Cache.verify` passes them).
    public init(
        paths: CachePaths, repair: Bool, lockCheck: (@Sendable (CachePaths) throws -> String?)? = nil,
        lockRepair: (@Sendable (CachePaths, _ quarantine: (URL) throws -> String) throws -> String?)? = nil
    ) {
        self.paths = paths
        self.repair = repair
        self.lockCheck = lockCheck
        self.lockRepair = lockRepair
    }

    /// - Throws: `StoreError.noCache` when the root is missing or empty (there is nothing that restore would take);
    ///   with `repair`, `StoreError.notACache` for a folder holding entries b1cache does not make (nothing is
    ///   changed: a home or project folder given by mistake must not have its files moved or re-moded).
    public func run() throws -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        switch try repair ? CacheFolder.requireCache(paths, toAct: "repair") : CacheFolder.classify(paths) {
        case .missing: throw StoreError.noCache(path: paths.root.path, empty: false)
        case .empty: throw StoreError.noCache(path: paths.root.path, empty: true)
        case .cache: break
        case .foreign(let entries):
            problems += entries.map { entry in
                VerifyProblem(
                    kind: .unexpectedFile, path: paths.root.path + "/" + entry,  // a folder keeps its slash
                    detail: "not something b1cache makes: this folder may not be a cache (a copy made "
                        + "into an existing folder sits one level down)")
            }
        }
        problems += try checkRootMode()
        problems += try checkLinksAndModes()
        problems += try checkTemps()
        problems += try checkWriteFiles(.pending)
        problems += try checkWriteFiles(.failed)
        problems += try checkQueueIndex()
        problems += try checkEnvelopesAndManifest()
        problems += try checkHistory()
        if let lockCheck, let stale = try lockCheck(paths) {
            var problem = VerifyProblem(kind: .staleLock, path: paths.lock.path, detail: stale, repair: nil)
            if repair, let lockRepair { problem.repair = try lockRepair(paths, quarantine) }
            problems.append(problem)
        }
        return problems
    }

    // MARK: Checks

    /// The root itself is 0700 (a plain `cp -r` or `mkdir` leaves it 0755, readable by every user).
    private func checkRootMode() throws -> [VerifyProblem] {
        guard let status = try CacheRoot.statusOf(paths.root),
            status.mode & 0o777 != DurableFile.directoryMode
        else { return [] }
        var problem = VerifyProblem(
            kind: .wrongMode, path: paths.root.path,
            detail: "mode \(String(status.mode & 0o777, radix: 8)), expected 700")
        if repair {
            do { try System.setMode(paths.root.path, mode_t(DurableFile.directoryMode)) } catch {
                throw StoreError.from(error, writing: paths.root)
            }
            problem.repair = "mode set to 700"
        }
        return [problem]
    }

    private func checkLinksAndModes() throws -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        var folders = [paths.root]
        while let folder = folders.popLast() {
            // At the root only what b1cache makes is walked: anything else was reported above, never entered.
            for name in try names(in: folder) where folder != paths.root || CacheFolder.isOwnEntry(name, of: paths) {
                let url = folder.appendingPathComponent(name)
                guard let status = try CacheRoot.statusOf(url) else { continue }
                if status.isSymbolicLink {
                    var problem = VerifyProblem(
                        kind: .symbolicLink, path: url.path,
                        detail: "a symbolic link inside the cache (b1cache never follows one)")
                    if repair { problem.repair = try quarantine(url) }
                    problems.append(problem)
                    continue
                }
                if status.ownerID != System.userID {
                    problems.append(
                        VerifyProblem(
                            kind: .wrongMode, path: url.path,
                            detail: "belongs to another user (uid \(status.ownerID))"))
                }
                let expected = status.isDirectory ? DurableFile.directoryMode : DurableFile.fileMode
                if status.mode & 0o777 != expected {
                    var problem = VerifyProblem(
                        kind: .wrongMode, path: url.path,
                        detail: "mode \(String(status.mode & 0o777, radix: 8)), expected \(String(expected, radix: 8))")
                    if repair {
                        try? System.setMode(url.path, mode_t(expected))
                        problem.repair = "mode set to \(String(expected, radix: 8))"
                    }
                    problems.append(problem)
                }
                // quarantine/ holds what was moved aside; flush.lock/ is judged by the lock's own rules (a live
                // holder's folder must not change under it), and repaired with them; but an owner.json that is a
                // link was never made by b1cache (no holder is behind it, and every locking command refuses it).
                if status.isDirectory && url == paths.lock,
                    try CacheRoot.statusOf(paths.lockOwner)?.isSymbolicLink == true
                {
                    var problem = VerifyProblem(
                        kind: .symbolicLink, path: paths.lockOwner.path,
                        detail: "a symbolic link inside the cache (b1cache never follows one)")
                    if repair {
                        problem.repair = try quarantine(paths.lockOwner)
                        // The folder it sat in is no process's lock either: gone, unless something else is in it.
                        if (try? FileManager.default.contentsOfDirectory(atPath: paths.lock.path))?.isEmpty == true {
                            try? FileManager.default.removeItem(at: paths.lock)
                            problem.repair? += "; removed the lock folder it was planted in"
                        }
                    }
                    problems.append(problem)
                }
                if status.isDirectory && url != paths.quarantine && url != paths.lock { folders.append(url) }
            }
        }
        return problems
    }

    private func checkTemps() throws -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        for folder in [paths.root, paths.collections, paths.queue, paths.queueStaging, paths.failed] {
            for name in try names(in: folder) where DurableFile.isTempName(name) {
                let url = folder.appendingPathComponent(name)
                let writer = DurableFile.writerProcessID(ofTempName: name)
                if let writer, System.processExists(writer), writer != System.processID { continue }  // still writing
                problems.append(
                    VerifyProblem(
                        kind: .strayTemp, path: url.path,
                        detail: "a temp file left by an interrupted write",
                        repair: repair ? "removed" : nil))
            }
        }
        if repair { try CacheRoot.sweepOrphans(paths) }
        return problems
    }

    private func checkWriteFiles(_ place: WriteQueue.Place) throws -> [VerifyProblem] {
        let folder = place == .pending ? paths.queue : paths.failed
        // A queue/ or failed/ that is not a folder was reported (and with --repair moved aside) with the links.
        guard try CacheRoot.statusOf(folder)?.isDirectory == true else { return [] }
        var problems: [VerifyProblem] = []
        var found: [(url: URL, problem: VerifyProblem)] = []
        // What the queue does not even list: names without .json (its listing reads the rest, so a problem found
        // here is exactly what queue, flush and sign-out --export-pending skip or refuse).
        for name in try names(in: folder) where !name.hasPrefix(".") && !name.hasSuffix(".json") {
            let url = folder.appendingPathComponent(name)
            guard try CacheRoot.statusOf(url)?.isRegularFile == true else { continue }
            found.append((url, VerifyProblem(kind: .unexpectedFile, path: url.path, detail: Self.notAWriteName)))
        }
        for listed in try WriteQueue(paths: paths).list(place) {
            guard let error = listed.problem else { continue }
            // Links were reported (and with --repair moved aside) by checkLinksAndModes.
            if try CacheRoot.statusOf(listed.entry.url)?.isSymbolicLink == true { continue }
            let problem =
                listed.entry.name == nil
                ? VerifyProblem(kind: .unexpectedFile, path: listed.entry.url.path, detail: Self.notAWriteName)
                : classify(error, url: listed.entry.url)
            found.append((listed.entry.url, problem))
        }
        for (url, problem) in found.sorted(by: { $0.url.path < $1.url.path }) {
            var problem = problem
            if repair && problem.kind != .newerSchema { problem.repair = try quarantine(url) }
            problems.append(problem)
        }
        return problems
    }

    private func checkEnvelopesAndManifest() throws -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        let store = CacheStore(paths: paths)
        var manifest: Manifest?
        var manifestReadable = true
        do { manifest = try store.manifest() } catch let error as StoreError {
            var problem = classify(error, url: paths.manifest)
            problems.append(problem)
            // A newer b1cache's manifest is never rewritten by this one.
            guard problem.kind != .newerSchema else { return problems }
            manifestReadable = false
            if repair {
                problem.repair =
                    try quarantine(paths.manifest)
                    + "; rebuilt from the envelopes (the account is recorded again by the next sync)"
                problems[problems.count - 1] = problem
            }
        }
        var rebuilt = manifest ?? Manifest()
        var changed = !manifestReadable
        for name in try names(in: paths.collections) where !name.hasPrefix(".") {
            let url = paths.collections.appendingPathComponent(name)
            guard name.hasSuffix(".json"), let collection = CollectionName(rawValue: String(name.dropLast(5))) else {
                var problem = VerifyProblem(
                    kind: .unexpectedFile, path: url.path, detail: "not a collection b1cache knows")
                if repair { problem.repair = try quarantine(url) }
                problems.append(problem)
                continue
            }
            do {
                let data: Data
                do { data = try System.readFile(url.path) } catch let error as SystemCallError {
                    throw StoreError.from(error, reading: url.path)
                }
                // The items stay as their bytes (the same checks as `decode`): verify of a 122 MB envelope holds
                // about the file, not a tree 3.5 times its size.
                let (envelope, merge) = try Envelope.decodeEncoded(data, path: url.path, expected: collection)
                var actual = CollectionState(
                    syncedAt: envelope.syncedAt, revision: envelope.revision,
                    count: merge.items.count, bytes: data.count, cursor: envelope.cursor)
                // Members this version does not know are not the envelope's to decide: kept as the manifest has them.
                actual.otherMembers = rebuilt.collections[collection]?.otherMembers ?? JSONObject()
                // A later pull's confirmation of this very revision is the manifest's alone (FORMATS.md §4).
                if let listed = rebuilt.collections[collection], listed.revision == envelope.revision {
                    actual.confirmedAt = listed.confirmedAt
                    actual.confirmedCursor = listed.confirmedCursor
                }
                if manifestReadable, rebuilt.collections[collection] != actual {
                    let listed = rebuilt.collections[collection]
                    problems.append(
                        VerifyProblem(
                            kind: .manifestMismatch, path: paths.manifest.path,
                            detail:
                                "entry for \(collection.rawValue) says \(listed.map { "\($0.count) items, revision \($0.revision), \($0.bytes) bytes" } ?? "nothing"); the envelope has \(actual.count) items, revision \(actual.revision), \(actual.bytes) bytes",
                            repair: repair ? "entry rebuilt from the envelope" : nil))
                }
                if rebuilt.collections[collection] != actual { changed = true }
                rebuilt.collections[collection] = actual
            } catch let error as StoreError {
                var problem = classify(error, url: url)
                if repair && problem.kind != .newerSchema {
                    problem.repair =
                        try quarantine(url) + "; run 'b1cache sync \(collection.rawValue)' to download it again"
                    rebuilt.collections[collection] = nil
                    changed = true
                }
                problems.append(problem)
            }
        }
        for collection in CollectionName.allCases where rebuilt.collections[collection] != nil {
            if try CacheRoot.statusOf(paths.envelope(for: collection)) == nil {
                problems.append(
                    VerifyProblem(
                        kind: .manifestMismatch, path: paths.manifest.path,
                        detail: "lists \(collection.rawValue), whose envelope is missing",
                        repair: repair ? "entry removed" : nil))
                rebuilt.collections[collection] = nil
                changed = true
            }
        }
        if repair && changed { try store.writeManifest(rebuilt) }
        return problems
    }

    /// history.jsonl: one JSON object per line. A line that is not one makes the whole file a problem (with
    /// --repair it moves to quarantine/, and the next flush starts a new history).
    private func checkHistory() throws -> [VerifyProblem] {
        let url = paths.history
        // A link there was reported (and with --repair moved aside) by checkLinksAndModes.
        guard let status = try CacheRoot.statusOf(url), !status.isSymbolicLink else { return [] }
        let error: StoreError
        do {
            let data = try System.readFile(url.path, limit: History.maximumFileSize)
            guard let reason = History.problem(in: data) else { return [] }
            error = .corrupt(path: url.path, reason: reason)
        } catch let failure as SystemCallError {
            error = StoreError.from(failure, reading: url.path)
        }
        var problem = classify(error, url: url)
        if repair, case .corrupt = error { problem.repair = try quarantine(url) }
        return [problem]
    }

    // MARK: Helpers

    private static let notAWriteName = "not a write file name b1cache makes"

    private func classify(_ error: StoreError, url: URL) -> VerifyProblem {
        if case .newerSchema = error {
            return VerifyProblem(kind: .newerSchema, path: url.path, detail: error.description)
        }
        return VerifyProblem(kind: .unreadable, path: url.path, detail: error.description)
    }

    private func names(in folder: URL) throws -> [String] {
        guard try CacheRoot.statusOf(folder)?.isDirectory == true else { return [] }
        do { return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() } catch {
            throw StoreError.unreadable(path: folder.path, reason: "cannot list the folder")
        }
    }

    /// Moves a file into `quarantine/` (never deletes it), under a name that says where it came from.
    ///
    /// Only `quarantine/` is prepared, not the whole root: what is being repaired may be one of the root's folders
    /// (a symbolic link where `queue/` belongs), which `CacheRoot.prepare` would refuse. A link standing in for
    /// `quarantine/` itself cannot be moved into it: the link alone is removed (what it points to is left alone).
    private func quarantine(_ url: URL) throws -> String {
        if url == paths.quarantine, try CacheRoot.statusOf(url)?.isSymbolicLink == true {
            do { try DurableFile.remove(url) } catch { throw StoreError.from(error, writing: url) }
            return "removed the link (what it pointed to was left alone)"
        }
        try CacheRoot.check(paths.root)
        try CacheRoot.checkFolder(paths.quarantine)
        if try CacheRoot.statusOf(paths.quarantine) == nil {
            try CacheRoot.createFolder(paths.quarantine, withParents: false)
        }
        let relative =
            url.path.hasPrefix(paths.root.path + "/")
            ? String(url.path.dropFirst(paths.root.path.count + 1)) : url.lastPathComponent
        let stamp = WriteFileName(createdAt: Date(), sequence: 0, id: "x").fileName.prefix(23)
        let destination = paths.quarantine.appendingPathComponent(
            "\(stamp)-\(relative.replacingOccurrences(of: "/", with: "__"))")
        do { try DurableFile.move(url, to: destination) } catch { throw StoreError.from(error, writing: destination) }
        return "moved to \(destination.path)"
    }
}
