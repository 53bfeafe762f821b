import Foundation

extension WriteQueue {
    /// Where a write was found.
    public enum Place: String, Sendable {
        case pending, failed
    }

    /// A readable write file, or the reason it could not be read.
    public struct Listed: Sendable {
        /// The file.
        public var entry: QueueEntry
        /// `queue/` or `failed/`.
        public var place: Place
        /// The write, when the file could be read.
        public var write: PendingWrite?
        /// Why it could not be read.
        public var problem: StoreError?
    }

    /// Reads every write of a place in order; unreadable files are returned with their problem instead of
    /// failing the whole listing (one bad file must not hide the others).
    ///
    /// A write id found in an earlier file of the place makes the later file a problem too: the server applies
    /// an id once, so sending both would report the second as applied while dropping what it says.
    public func list(_ place: Place) throws -> [Listed] {
        let entries = place == .pending ? try pendingEntries() : try failedEntries()
        var firstFile: [String: String] = [:]
        return entries.map { entry in
            do {
                let write = try read(entry)
                if let earlier = firstFile[write.id] {
                    return Listed(
                        entry: entry, place: place, write: nil,
                        problem: .corrupt(
                            path: entry.url.path, reason: "holds write '\(write.id)', which \(earlier) holds too"))
                }
                firstFile[write.id] = entry.fileName
                return Listed(entry: entry, place: place, write: write, problem: nil)
            } catch let error as StoreError {
                return Listed(entry: entry, place: place, write: nil, problem: error)
            } catch {
                return Listed(
                    entry: entry, place: place, write: nil,
                    problem: .unreadable(path: entry.url.path, reason: "\(error)"))
            }
        }
    }

    /// The pending writes that can be read, in flush order.
    public func readablePending() throws -> [PendingWrite] { try list(.pending).compactMap(\.write) }

    /// The shortest id prefix `find(id:)` takes: `drop` deletes without asking, so one letter must not do.
    public static let minimumIdPrefix = 8

    /// Finds a write by its exact id, or by a prefix of at least `minimumIdPrefix` characters that only one write
    /// has, in `queue/`, then `failed/`.
    /// - Throws: `QueueError.writeNotFound`, `.ambiguousId`, `.idPrefixTooShort`.
    public func find(id: String) throws -> Listed {
        let all = try list(.pending) + list(.failed)
        let byName = all.filter { ($0.write?.id ?? $0.entry.name?.id) == id }
        if let exact = byName.first { return exact }
        guard id.count >= Self.minimumIdPrefix else {
            if id.isEmpty { throw QueueError.writeNotFound(id: id) }
            throw QueueError.idPrefixTooShort(prefix: id, minimum: Self.minimumIdPrefix)
        }
        let prefixed = all.filter { ($0.write?.id ?? $0.entry.name?.id ?? "").hasPrefix(id) }
        if prefixed.count > 1 { throw QueueError.ambiguousId(prefix: id, matches: prefixed.count) }
        guard let match = prefixed.first else { throw QueueError.writeNotFound(id: id) }
        return match
    }

    /// Deletes a pending or failed write on purpose (durably). Returns what was dropped.
    @discardableResult
    public func drop(id: String) throws -> Listed {
        let found = try find(id: id)
        func remove() throws {
            do { try DurableFile.remove(found.entry.url) } catch {
                throw StoreError.from(error, writing: found.entry.url)
            }
        }
        if found.place == .pending { _ = try QueueIndex.changing(paths, remove) } else { try remove() }
        return found
    }
}

extension WriteQueue {
    /// Puts a failed write back into `queue/` at its place in the order (its file name keeps its time and sequence),
    /// with its attempts and backoff reset, **under a new id**. The server's answer to the old id was final (a
    /// rejection is replayed for it forever), so the write is sent again as `<first id>-r<N>`, listing every id it
    /// was sent under in `retryOf`; the server answers it as a duplicate if any of those was applied, so a retry
    /// is still applied at most once (docs/PROTOCOL.md, "Retrying a rejected write").
    ///
    /// The new id is derived, not random: a retry killed after the queue copy is durable but before the failed file
    /// goes leaves both, and running it again rewrites the same queue file instead of queueing a second copy.
    public func retryFailed(id: String) throws -> PendingWrite {
        let found = try find(id: id)
        guard found.place == .failed else {
            throw QueueError.invalidField(field: "ID", reason: "'\(id)' is pending, not failed")
        }
        guard let failed = found.write else { throw found.problem ?? QueueError.writeNotFound(id: id) }
        guard failed.retryOf.count < PendingWrite.maximumRetries, let name = found.entry.name else {
            throw QueueError.invalidField(
                field: "ID",
                reason: "'\(id)' was retried \(failed.retryOf.count) times "
                    + "already; drop it and queue the change again")
        }
        var write = failed
        write.retryOf = failed.retryOf + [failed.id]
        write.id = "\(failed.retryOf.first ?? failed.id)-r\(write.retryOf.count)"
        write.attempts = 0
        write.nextAttemptAt = nil
        let queued = WriteFileName(microseconds: name.microseconds, sequence: name.sequence, id: write.id)
        do {
            try CacheRoot.prepare(paths)
            _ = try QueueIndex.changing(paths) {
                try DurableFile.write(write.encoded(), to: paths.queued(queued.fileName), staging: paths.queueStaging)
                try DurableFile.remove(found.entry.url)
            }
        } catch { throw StoreError.from(error, writing: paths.queue) }
        return write
    }
    /// Retries every readable failed write.
    public func retryAllFailed() throws -> [PendingWrite] {
        try list(.failed).compactMap(\.write).map { try retryFailed(id: $0.id) }
    }
}
