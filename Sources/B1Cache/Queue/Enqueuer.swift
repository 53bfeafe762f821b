import Foundation

/// One write to queue: a kind's name and its payload, as a user or a script gave them.
public struct WriteRequest: Sendable {
    /// The kind's name, as typed (checked by enqueue).
    public var kind: String
    /// The payload, as given (kept byte for byte in the write file).
    public var payload: JSONValue
    /// Kept when re-queueing an exported write, so the server still recognizes it (idempotency key).
    public var id: String?
    /// The account an exported write belongs to; a cache of another account refuses it.
    public var account: Account?
    /// The ids an exported write was sent under before (`PendingWrite.retryOf`), kept with it.
    public var retryOf: [String] = []
    /// The line of the `--batch` input it came from (blank lines counted), so a refusal names that line.
    public var line: Int?

    /// A write to queue; `id`, `account` and `line` come from an export or a `--batch` line.
    public init(kind: String, payload: JSONValue, id: String? = nil, account: Account? = nil, line: Int? = nil) {
        self.kind = kind
        self.payload = payload
        self.id = id
        self.account = account
        self.line = line
    }
}

/// A write that was queued, and the pending writes it replaced.
public struct EnqueueResult: Sendable, Equatable {
    /// The write as queued.
    public var write: PendingWrite
    /// Its file in `queue/`.
    public var fileName: String
    /// Ids of older pending writes this one fully supersedes; their files are gone.
    public var replaced: [String]
}

/// Validates and queues writes (SPEC §5). Enqueue never takes the lock and never changes an envelope.
///
/// Keeps what it learned (target envelopes, the pending writes in a `QueueView`) for its lifetime, so one
/// `Enqueuer` serving many writes reads each collection and each queue file once.
public final class Enqueuer {
    /// The cache written to.
    public let paths: CachePaths
    private let checker: TargetChecker
    private let queue: WriteQueue
    private var prepared = false
    private let view: QueueView
    /// The cache's account, read once: nil when not known (never synced, or the manifest cannot be read).
    private lazy var cacheAccount: Account? = {
        // A write is stamped with its account when the cache knows it; an unreadable manifest must not stop an
        // offline user from queueing (flush checks the cache's account again before anything is sent).
        do { return try CacheStore(paths: paths).manifest().account } catch { return nil }
    }()

    /// An enqueuer of the cache at `paths` (it reads nothing until the first enqueue).
    public init(paths: CachePaths) {
        self.paths = paths
        self.checker = TargetChecker(store: CacheStore(paths: paths))
        self.queue = WriteQueue(paths: paths)
        self.view = QueueView(paths: paths)
    }

    /// Validates and queues one write.
    /// - Throws: `QueueError` for bad input (nothing written); `StoreError` when the disk refuses.
    /// - Important: blocks on two fsyncs (the file, then `queue/`).
    public func enqueue(_ request: WriteRequest, now: Date = Date()) throws -> EnqueueResult {
        guard let result = try enqueueBatch([request], now: now).first else {
            throw QueueError.invalidBatchLine(line: 1, reason: "nothing to queue")
        }
        return result
    }

    /// Validates every request, then queues them all with one fsync of `queue/`; if any is invalid, none is
    /// queued. Later requests supersede earlier ones of the same batch as they would one by one.
    ///
    /// Each request is judged against the cache as the pending writes (and the earlier requests) will leave it:
    /// nothing is queued for a missed-billing item that a pending apply applies, since the server refuses it.
    public func enqueueBatch(_ requests: [WriteRequest], now: Date = Date()) throws -> [EnqueueResult] {
        // A refusal names the request's line: its own (`--batch` input), else its place in a batch of several.
        func lineError(_ index: Int, _ error: QueueError) -> QueueError {
            guard let line = requests[index].line ?? (requests.count > 1 ? index + 1 : nil) else { return error }
            return .invalidBatchLine(line: line, reason: error.description)
        }
        var validated: [ValidatedRequest] = []
        for (index, request) in requests.enumerated() {
            // An exported write goes only into a cache of its own account (or one whose account is not known yet,
            // where it keeps its account and flush refuses to send it under another).
            if let owner = request.account, let cache = cacheAccount, !owner.isSame(as: cache) {
                throw QueueError.otherAccount(cache: cache, writes: owner)
            }
            do {
                validated.append(try validate(request, now: now))
            } catch let error as QueueError {
                throw lineError(index, error)
            }
        }
        try prepare()
        // Holding the queue's folder lock: the view, the files and the index written after them then agree.
        return try QueueIndex.locked(paths) { try queueLocked(validated, requests, now: now, lineError: lineError) }
    }

    private func queueLocked(
        _ validated: [ValidatedRequest], _ requests: [WriteRequest], now: Date,
        lineError: (Int, QueueError) -> QueueError
    ) throws -> [EnqueueResult] {
        try view.refresh()
        // A kept id must be new: the same id twice would be applied once by the server and lose a write.
        if validated.contains(where: { $0.id != nil }) {
            var knownIds = view.ids.union(try queue.failedEntries().compactMap { $0.name?.id })
            for (index, item) in validated.enumerated() {
                guard let id = item.id else { continue }
                guard knownIds.insert(id).inserted else {
                    throw QueueError.invalidBatchLine(
                        line: requests[index].line ?? index + 1,
                        reason: "write \(id) is already queued (or failed)")
                }
            }
        }
        var appliedBy = view.appliedBy(Set(validated.flatMap(\.typed.targetIds)))
        for (index, item) in validated.enumerated() {
            do {
                try item.typed.checkAgainstPending(appliedBy: appliedBy)
            } catch let error as QueueError {
                throw lineError(index, error)
            }
            for id in item.typed.appliedItems {
                appliedBy[id] = .some(nil)  // by an earlier request of this batch, which has no id yet
            }
        }
        var newest = view.newestName
        var created: [(write: PendingWrite, name: WriteFileName, data: Data)] = []
        var replacedBy: [String: [String]] = [:]
        var removals: [URL] = []
        for (item, request) in zip(validated, requests) {
            let id = item.id ?? UUID().uuidString.lowercased()
            let name = WriteNamer.next(id: id, notBefore: newest, now: now)
            newest = name
            var write = PendingWrite(id: id, kind: item.kind, payload: item.payload, createdAt: name.createdAt)
            write.account = request.account ?? cacheAccount
            write.retryOf = request.retryOf
            if let old = view.superseded(by: write), let file = view.remove(id: old) {
                if let index = created.firstIndex(where: { $0.write.id == old }) {
                    created.remove(at: index)  // superseded within this batch: never written
                } else {
                    removals.append(paths.queued(file))
                }
                replacedBy[id] = [old]
            }
            let data = write.encoded()
            view.add(write, name: name, bytes: Int64(data.count))
            created.append((write, name, data))
        }
        let files = created.map { (data: $0.data, destination: paths.queued($0.name.fileName)) }
        // Creation is atomic: each file is staged in queue/.tmp, fsynced and renamed in; then queue/ is fsynced
        // once. Superseded files go only after their replacements are durable (one already flushed is gone).
        do {
            try DurableFile.writeAll(files, staging: paths.queueStaging)
            for url in removals {
                do { try System.removeFile(url.path) } catch let error as SystemCallError where error.isNotFound {}
            }
            if !removals.isEmpty { try System.fsyncDirectory(paths.queue.path) }
        } catch {
            view.invalidate()
            throw StoreError.from(error, writing: paths.queue)
        }
        view.markSeen()
        // A hint only: a disk that refuses it loses nothing (the next reader lists the folder). A crash before it
        // leaves the header of before, stamped with an older time than queue/ now has: ignored.
        try? view.writeIndex()
        return created.map { entry in
            EnqueueResult(write: entry.write, fileName: entry.name.fileName, replaced: replacedBy[entry.write.id] ?? [])
        }
    }

    /// A request that passed its checks: the payload as given (what the file keeps) beside its typed view.
    private struct ValidatedRequest {
        var kind: WriteKind
        var payload: JSONObject
        var typed: any WritePayload
        var id: String?
    }

    private func validate(_ request: WriteRequest, now: Date) throws -> ValidatedRequest {
        let kind = try PayloadValidator.kind(request.kind)
        guard let payload = request.payload.objectValue else {
            throw QueueError.invalidField(
                field: "payload",
                reason: "must be a JSON object, not \(request.payload.typeName)")
        }
        // A re-queued export keeps its id; a snooze date that passed since it was first queued does not refuse it.
        let typed = try kind.rules.init(validating: payload, now: request.id == nil ? now : nil)
        if let id = request.id, id.isEmpty || id.count > 100 || id.contains("/") || id.hasPrefix(".") {
            throw QueueError.invalidField(field: "id", reason: "must be a plain id of at most 100 characters")
        }
        try checkEncodedSize(kind: kind, payload: payload, request: request, now: now)
        try typed.checkTargets(in: checker)
        return ValidatedRequest(kind: kind, payload: payload, typed: typed, id: request.id)
    }

    /// The write file must fit `WriteLimits.encodedWrite`, so the decoder reads it back and a batch of them fits a
    /// request. Encoded as the file will be (a fresh id is a UUID, as long as the one used here), with its account.
    private func checkEncodedSize(kind: WriteKind, payload: JSONObject, request: WriteRequest, now: Date) throws {
        var probe = PendingWrite(
            id: request.id ?? UUID().uuidString.lowercased(), kind: kind, payload: payload,
            createdAt: now)
        probe.account = request.account ?? cacheAccount
        probe.retryOf = request.retryOf
        let bytes = probe.encoded().count
        guard bytes > WriteLimits.encodedWrite else { return }
        // Name the member that takes the most room in the file (pretty-printed, as written).
        let largest = payload.members.max {
            JSONWriter.prettyData($0.value).count < JSONWriter.prettyData($1.value).count
        }
        throw QueueError.invalidField(
            field: largest?.key ?? "payload",
            reason: "makes the write \(bytes) bytes "
                + "encoded; a write may have at most \(WriteLimits.encodedWrite)")
    }

    /// Creates the folders if needed and clears staging orphans left by crashed enqueues, once per Enqueuer.
    private func prepare() throws {
        guard !prepared else { return }
        try CacheRoot.prepare(paths)
        do { try DurableFile.sweepOrphans(in: paths.queueStaging) } catch {
            throw StoreError.from(error, writing: paths.queueStaging)
        }
        prepared = true
    }
}
