import Foundation

/// One thing `verify` found wrong.
public struct VerifyProblem: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case unreadable, newerSchema, strayTemp, staleLock, manifestMismatch, unexpectedFile, wrongMode, symbolicLink
    }

    public var kind: Kind
    public var path: String
    public var detail: String
    /// What `--repair` did about it; nil when not repaired (or not asked to).
    public var repair: String?
}

/// Checks every file of a cache, and with `repair` puts it right without ever deleting data: unreadable files
/// go to `quarantine/`, temp orphans are swept, manifest entries are rebuilt from the envelopes, modes reset.
public struct Verifier {
    public let paths: CachePaths
    public var repair: Bool
    /// Checks the lock (supplied by the lock module, which knows when a lock is stale).
    public var lockCheck: (@Sendable (CachePaths) throws -> String?)?

    public init(paths: CachePaths, repair: Bool, lockCheck: (@Sendable (CachePaths) throws -> String?)? = nil) {
        self.paths = paths
        self.repair = repair
        self.lockCheck = lockCheck
    }

    public func run() throws -> [VerifyProblem] {
        guard try CacheRoot.check(paths.root) else { return [] }
        var problems: [VerifyProblem] = []
        problems += try checkLinksAndModes()
        problems += try checkTemps()
        problems += try checkWriteFiles(paths.queue)
        problems += try checkWriteFiles(paths.failed)
        problems += try checkEnvelopesAndManifest()
        if let lockCheck, let stale = try lockCheck(paths) {
            problems.append(VerifyProblem(kind: .staleLock, path: paths.lock.path, detail: stale,
                                          repair: nil))
        }
        return problems
    }

    // MARK: Checks

    private func checkLinksAndModes() throws -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        var folders = [paths.root]
        while let folder = folders.popLast() {
            for name in try names(in: folder) {
                let url = folder.appendingPathComponent(name)
                guard let status = try CacheRoot.statusOf(url) else { continue }
                if status.isSymbolicLink {
                    var problem = VerifyProblem(kind: .symbolicLink, path: url.path,
                                                detail: "a symbolic link inside the cache (b1cache never follows one)")
                    if repair { problem.repair = try quarantine(url) }
                    problems.append(problem)
                    continue
                }
                if status.ownerID != System.userID {
                    problems.append(VerifyProblem(kind: .wrongMode, path: url.path,
                                                  detail: "belongs to another user (uid \(status.ownerID))"))
                }
                let expected = status.isDirectory ? DurableFile.directoryMode : DurableFile.fileMode
                if status.mode & 0o777 != expected {
                    var problem = VerifyProblem(kind: .wrongMode, path: url.path,
                                                detail: "mode \(String(status.mode & 0o777, radix: 8)), expected \(String(expected, radix: 8))")
                    if repair {
                        try? System.setMode(url.path, mode_t(expected))
                        problem.repair = "mode set to \(String(expected, radix: 8))"
                    }
                    problems.append(problem)
                }
                if status.isDirectory && url != paths.quarantine { folders.append(url) }
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
                problems.append(VerifyProblem(kind: .strayTemp, path: url.path,
                                              detail: "a temp file left by an interrupted write",
                                              repair: repair ? "removed" : nil))
            }
        }
        if repair { try CacheRoot.sweepOrphans(paths) }
        return problems
    }

    private func checkWriteFiles(_ folder: URL) throws -> [VerifyProblem] {
        var problems: [VerifyProblem] = []
        let queue = WriteQueue(paths: paths)
        for name in try names(in: folder) where !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            guard try CacheRoot.statusOf(url)?.isRegularFile == true else { continue }
            var problem: VerifyProblem?
            if WriteFileName(fileName: name) == nil {
                problem = VerifyProblem(kind: .unexpectedFile, path: url.path, detail: "not a write file name b1cache makes")
            } else {
                do { _ = try queue.read(QueueEntry(url: url, name: WriteFileName(fileName: name))) } catch let error as StoreError {
                    problem = classify(error, url: url)
                }
            }
            if var found = problem {
                if repair && found.kind != .newerSchema { found.repair = try quarantine(url) }
                problems.append(found)
            }
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
                problem.repair = try quarantine(paths.manifest) + "; rebuilt from the envelopes (the account is recorded again by the next sync)"
                problems[problems.count - 1] = problem
            }
        }
        var rebuilt = manifest ?? Manifest()
        var changed = !manifestReadable
        for name in try names(in: paths.collections) where !name.hasPrefix(".") {
            let url = paths.collections.appendingPathComponent(name)
            guard name.hasSuffix(".json"), let collection = CollectionName(rawValue: String(name.dropLast(5))) else {
                var problem = VerifyProblem(kind: .unexpectedFile, path: url.path, detail: "not a collection b1cache knows")
                if repair { problem.repair = try quarantine(url) }
                problems.append(problem)
                continue
            }
            do {
                let data = try System.readFile(url.path)
                let envelope = try Envelope.decode(data, path: url.path, expected: collection)
                let actual = CollectionState(syncedAt: envelope.syncedAt, revision: envelope.revision,
                                             count: envelope.items.count, bytes: data.count, cursor: envelope.cursor)
                if manifestReadable, rebuilt.collections[collection] != actual {
                    let listed = rebuilt.collections[collection]
                    problems.append(VerifyProblem(
                        kind: .manifestMismatch, path: paths.manifest.path,
                        detail: "entry for \(collection.rawValue) says \(listed.map { "\($0.count) items, revision \($0.revision), \($0.bytes) bytes" } ?? "nothing"); the envelope has \(actual.count) items, revision \(actual.revision), \(actual.bytes) bytes",
                        repair: repair ? "entry rebuilt from the envelope" : nil))
                }
                if rebuilt.collections[collection] != actual { changed = true }
                rebuilt.collections[collection] = actual
            } catch let error as StoreError {
                var problem = classify(error, url: url)
                if repair && problem.kind != .newerSchema {
                    problem.repair = try quarantine(url) + "; run 'b1cache sync \(collection.rawValue)' to download it again"
                    rebuilt.collections[collection] = nil
                    changed = true
                }
                problems.append(problem)
            } catch let error as SystemCallError {
                problems.append(VerifyProblem(kind: .unreadable, path: url.path, detail: error.reason))
            }
        }
        for collection in CollectionName.allCases where rebuilt.collections[collection] != nil {
            if try CacheRoot.statusOf(paths.envelope(for: collection)) == nil {
                problems.append(VerifyProblem(kind: .manifestMismatch, path: paths.manifest.path,
                                              detail: "lists \(collection.rawValue), whose envelope is missing",
                                              repair: repair ? "entry removed" : nil))
                rebuilt.collections[collection] = nil
                changed = true
            }
        }
        if repair && changed { try store.writeManifest(rebuilt) }
        return problems
    }

    // MARK: Helpers

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
        try CacheRoot.checkFolder(paths.quarantine)
        if try CacheRoot.statusOf(paths.quarantine) == nil { try CacheRoot.createFolder(paths.quarantine, withParents: false) }
        let relative = url.path.hasPrefix(paths.root.path + "/") ? String(url.path.dropFirst(paths.root.path.count + 1)) : url.lastPathComponent
        let stamp = WriteFileName(createdAt: Date(), sequence: 0, id: "x").fileName.prefix(23)
        let destination = paths.quarantine.appendingPathComponent("\(stamp)-\(relative.replacingOccurrences(of: "/", with: "__"))")
        do { try DurableFile.move(url, to: destination) } catch { throw StoreError.from(error, writing: destination) }
        return "moved to \(destination.path)"
    }
}
