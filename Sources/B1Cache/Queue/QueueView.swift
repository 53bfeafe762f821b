import Foundation

/// The pending writes as one `Enqueuer` sees them, kept between enqueues so each costs O(1) in the queue's length
/// instead of re-listing and re-reading every write file: `queue/` is listed again only when its modification
/// time moved since this view last looked (another process queued, flushed or dropped a write).
///
/// What it answers: the newest file name (new names sort after it), the ids present, and which pending write a
/// new one supersedes (SPEC §5), through an index of the last write touching each item. The keys are each kind's
/// (`WritePayload.supersedeKey`, `touchedKeys`); the rule is applied here: a new write supersedes the last pending
/// write touching its key when that write has the same key, so an apply in between (which touches the item under
/// no key of its own) keeps both.
///
/// Directory times are coarse (a few ms), so another process's change made in the same tick as this view's own
/// may go unseen until the next change. That only costs a coalescing: both writes stay queued and reach the
/// server in order, which ends in the same state. A superseded file found already gone is not an error.
final class QueueView {
    private let paths: CachePaths
    private let queue: WriteQueue
    /// Pending file names in flush order.
    private var names: [String] = []
    /// Readable writes by file name (unreadable files are left for `verify`).
    private var writes: [String: PendingWrite] = [:]
    private var nameById: [String: String] = [:]
    /// For each item key, the last pending write touching it, and whether that write can be superseded.
    private var lastToucher: [String: (id: String, supersedable: Bool)] = [:]
    /// Missed-billing item id → the first pending apply naming it.
    private var applies: [String: String] = [:]
    private var seenModified: Date?

    init(paths: CachePaths) {
        self.paths = paths
        self.queue = WriteQueue(paths: paths)
    }

    var newestName: WriteFileName? { names.last.flatMap(WriteFileName.init(fileName:)) }
    var ids: Set<String> { Set(nameById.keys) }
    /// Missed-billing items a pending apply applies, with that write's id (the overlay's `applied` status).
    var appliedItems: [String: String?] { applies.mapValues { $0 } }

    /// Brings the view up to date with `queue/` when the folder changed since it last looked.
    func refresh() throws {
        let modified = try CacheRoot.statusOf(paths.queue)?.modified
        if modified != nil && modified == seenModified { return }
        let entries = try queue.pendingEntries()
        var fresh: [String: PendingWrite] = [:]
        for entry in entries {
            if let known = writes[entry.fileName] {
                fresh[entry.fileName] = known  // kind, id and payload of a write file never change
            } else if let write = try? queue.read(entry) {
                fresh[entry.fileName] = write
            }
        }
        names = entries.map(\.fileName)
        writes = fresh
        nameById = [:]
        lastToucher = [:]
        applies = [:]
        for name in names { if let write = writes[name] { index(write, name: name) } }
        seenModified = modified
    }

    /// The pending write `write` fully supersedes, if any: the last one with the same key, when no write of
    /// another kind touched that item after it.
    func superseded(by write: PendingWrite) -> String? {
        guard let key = write.typedPayload.supersedeKey, let last = lastToucher[key], last.supersedable else {
            return nil
        }
        return last.id
    }

    /// Adds a write this process is queuing.
    func add(_ write: PendingWrite, name: WriteFileName) {
        names.append(name.fileName)
        writes[name.fileName] = write
        index(write, name: name.fileName)
    }

    /// Forgets a write (superseded); returns its file (nil for one of this batch not written yet).
    func remove(id: String) -> String? {
        guard let name = nameById.removeValue(forKey: id) else { return nil }
        writes[name] = nil
        names.removeAll { $0 == name }
        for (key, toucher) in lastToucher where toucher.id == id { lastToucher[key] = nil }
        for (item, writeId) in applies where writeId == id { applies[item] = nil }
        return name
    }

    /// Records the folder's time after this process changed it, so the next `refresh` needs no listing.
    func markSeen() { seenModified = try? CacheRoot.statusOf(paths.queue)?.modified }

    /// Makes the next `refresh` list the folder again (after a failed write, when the view may be wrong).
    func invalidate() { seenModified = nil }

    private func index(_ write: PendingWrite, name: String) {
        nameById[write.id] = name
        let payload = write.typedPayload
        let key = payload.supersedeKey
        for touched in payload.touchedKeys {
            lastToucher[touched] = (write.id, touched == key)
        }
        for item in payload.appliedItems where applies[item] == nil { applies[item] = write.id }
    }
}
