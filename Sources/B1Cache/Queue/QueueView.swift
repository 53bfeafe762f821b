import Foundation

/// The pending writes as one `Enqueuer` sees them, kept between enqueues so each costs O(1) in the queue's length
/// instead of re-reading every write file: `queue/` is listed again only when its modification time moved since
/// this view last looked (another process queued, flushed or dropped a write), and then only files that neither
/// the view nor the queue index (`QueueIndex`) knows are read.
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
    /// Pending file names in flush order (the listing, less what this view removed, plus what it added).
    private(set) var names: [String] = []
    /// The queue index as last read: what it says of a listed file is taken without opening the file.
    private var index: QueueIndexBody?
    /// For each of `names`, its line in `index`, if it has one.
    private var lines: [QueueIndexBody.Line?] = []
    /// What coalescing needs of the files the index does not describe (read here) and of the writes added.
    private var known: [String: QueueIndex.Facts] = [:]
    private var seenModified: Int64?

    init(paths: CachePaths) {
        self.paths = paths
        self.queue = WriteQueue(paths: paths)
    }

    var newestName: WriteFileName? { names.last.flatMap(WriteFileName.init(fileName:)) }
    /// The ids of the pending writes, from their file names.
    var ids: Set<String> { Set(names.compactMap(QueueIndex.writeId(inName:))) }

    /// Brings the view up to date with `queue/` when the folder changed since it last looked: lists the names,
    /// and reads only the files that neither `known` (writes the caller read: only their size is looked up) nor
    /// the queue index (`QueueIndex`) describes.
    func refresh(known callerRead: [String: PendingWrite] = [:]) throws {
        let modified = try CacheRoot.statusOf(paths.queue)?.modifiedNanoseconds
        if modified != nil && modified == seenModified { return }
        let listed = try queue.pendingNames()
        if index == nil { index = QueueIndexBody.load(paths) }
        let covered = index?.cover(listed) ?? Array(repeating: nil, count: listed.count)
        var fresh: [String: QueueIndex.Facts] = [:]
        for (name, line) in zip(listed, covered) {
            if let write = callerRead[name], let size = try? CacheRoot.statusOf(paths.queued(name))?.size {
                fresh[name] = QueueIndex.Facts(write, bytes: size)
            } else if let fact = known[name] {
                fresh[name] = fact  // kind, id and payload of a write file never change
            } else if line == nil, let read = try? queue.readWithSize(name) {
                fresh[name] = QueueIndex.Facts(read.write, bytes: read.bytes)
            }
        }
        names = listed
        lines = covered
        known = fresh
        seenModified = modified
    }

    /// Reads the queue index once, before a change removes it (`QueueIndex.changing`).
    func readIndexOnce() { if index == nil { index = QueueIndexBody.load(paths) } }

    /// The pending write `write` fully supersedes, if any: the last one touching its key, when that write has the
    /// same key (an apply in between, which touches the item under no key of its own, keeps both).
    func superseded(by write: PendingWrite) -> String? {
        guard let key = write.typedPayload.supersedeKey,
            let last = mentioning(key).filter({ $0.facts.touchedKeys.contains(key) }).max(by: { $0.at < $1.at }),
            last.facts.supersedeKey == key
        else { return nil }
        return last.facts.id
    }

    /// For each of `items` that a pending apply applies, the first such write's id (the overlay's `applied`).
    func appliedBy(_ items: Set<String>) -> [String: String?] {
        var result: [String: String?] = [:]
        for item in items {
            let first = mentioning(item).filter { $0.facts.appliedItems.contains(item) }.min { $0.at < $1.at }
            if let first { result[item] = .some(first.facts.id) }
        }
        return result
    }

    /// Adds a write this process is queuing, with the size of its file.
    func add(_ write: PendingWrite, name: WriteFileName, bytes: Int64) {
        names.append(name.fileName)
        lines.append(nil)
        known[name.fileName] = QueueIndex.Facts(write, bytes: bytes)
    }

    /// Forgets a write (superseded); returns its file (nil for one of this batch not written yet).
    func remove(id: String) -> String? {
        guard let position = names.lastIndex(where: { QueueIndex.writeId(inName: $0) == id }) else { return nil }
        let name = names.remove(at: position)
        lines.remove(at: position)
        known[name] = nil
        return name
    }

    /// Records the folder's time after this process changed it, so the next `refresh` needs no listing.
    func markSeen() { seenModified = try? CacheRoot.statusOf(paths.queue)?.modifiedNanoseconds }

    /// Makes the next `refresh` list the folder again (after a failed write, when the view may be wrong).
    func invalidate() { seenModified = nil }

    /// Writes the queue index from this view (holding `QueueIndex.locked`, right after the change it describes):
    /// the lines of the old index for the files it described, copied as they are, and new lines for the rest.
    func writeIndex() throws {
        var line = lines.makeIterator()
        try QueueIndex.write(paths, names: names) { name in
            let indexed = line.next() ?? nil
            if let fact = known[name] { return (fact.bytes, Array(QueueIndex.line(name: name, facts: fact).utf8)) }
            guard let indexed, let index else { return nil }
            return (indexed.size, Array(index.bytes(of: indexed)))
        }
    }

    /// The pending writes whose facts mention `text` (a key or an item id), with their place in flush order: the
    /// index's lines found by one scan of its bytes, and the writes known here.
    private func mentioning(_ text: String) -> [(at: Int, facts: QueueIndex.Facts)] {
        var found: [(at: Int, facts: QueueIndex.Facts)] = []
        for (name, fact) in known where fact.touchedKeys.contains(text) || fact.appliedItems.contains(text) {
            if let at = position(of: name) { found.append((at, fact)) }
        }
        guard let index else { return found }
        for line in index.lines(mentioning: text).values {
            // Only a line that is the one matched to a pending name counts (not a stale line of a file gone).
            guard let name = index.name(of: line), known[name] == nil, let at = position(of: name),
                lines[at]?.range == line.range
            else { continue }
            if let fact = index.facts(of: line) ?? readFacts(name) { found.append((at, fact)) }
        }
        return found
    }

    /// A file whose index line cannot be parsed is read instead (and kept for the next index).
    private func readFacts(_ name: String) -> QueueIndex.Facts? {
        guard let read = try? queue.readWithSize(name) else { return nil }
        let fact = QueueIndex.Facts(read.write, bytes: read.bytes)
        known[name] = fact
        return fact
    }

    /// The place of a pending file in flush order (names sort as flush order, so a binary search finds it).
    private func position(of name: String) -> Int? {
        var low = 0
        var high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low < names.count && names[low] == name ? low : nil
    }
}
