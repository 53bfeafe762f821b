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
    /// Files whose lines this view appended to the index since it read it, and the writes added since then.
    private var appended: Set<String> = []
    private var added: [String] = []
    /// Lines in the index file (as read, plus those appended): a whole rewrite is due when most are dead.
    private var fileLines = 0
    /// Whether the index file holds a line for every pending name that has none in `lines` but is `appended`.
    private var indexOnDisk = false
    /// Whether the index file holds exactly one line per pending file (`QueueIndex.Header.exact`).
    private var exact = false
    /// What coalescing needs of the files the index does not describe (read here) and of the writes added.
    private var known: [String: QueueIndex.Facts] = [:]
    /// The names in `known` by each key and item their facts mention, so a look-up costs O(1) here.
    private var knownByText: [String: Set<String>] = [:]
    /// The pending files' bytes, and how many known files have no line in the index file: kept as writes come and
    /// go, so writing the index after one enqueue costs O(1), not O(queue).
    private var totalBytes: Int64 = 0
    private var missing = 0
    private var seenModified: Int64?
    /// How many distinct items `names` touch, by collection (`QueueIndex.Header.items`): taken from a fresh header,
    /// kept as writes come and go (a look-up of each item they touch), counted from every line when unknown.
    private var items: [String: Int]?
    /// The header of the index as read (`readIndexOnce`).
    private var header: QueueIndex.Header?
    /// Item look-ups left before the counts are dropped and counted again whole when the index is written: each
    /// scans the index's bytes, so a large batch is cheaper counted once than looked up item by item.
    private var lookUpsLeft = 0
    private static let lookUpsPerWrite = 64

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
    /// - Parameter rereadIndex: false keeps the index as read before (by `readIndexOnce`, before a change that
    ///   removed it); by default it is read again, since another process may have rewritten it.
    func refresh(known callerRead: [String: PendingWrite] = [:], rereadIndex: Bool = true) throws {
        let modified = try CacheRoot.statusOf(paths.queue)?.modifiedNanoseconds
        if modified != nil && modified == seenModified { return }
        let listed = try queue.pendingNames()
        if rereadIndex { index = nil }
        readIndexOnce()
        let covered = index?.cover(listed) ?? Array(repeating: nil, count: listed.count)
        // A listed file without a line, or a line of a file not listed (removed by hand): no longer exact.
        if let index, covered.contains(where: { $0 == nil }) || index.writeLines().count != covered.count {
            exact = false
        }
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
        // The header's item counts hold for this listing only if the folder has not changed since it was written.
        items = modified != nil && header?.queueModified == modified ? header?.items : nil
        lookUpsLeft = Self.lookUpsPerWrite
        known = [:]
        knownByText = [:]
        totalBytes = 0
        missing = 0
        for (name, line) in zip(names, lines) {
            if let fact = fresh[name] { learn(name, fact) } else if let line { totalBytes += line.size }
        }
        seenModified = modified
    }

    /// Reads the queue index once, before a change removes it (`QueueIndex.changing`).
    func readIndexOnce() {
        guard index == nil else { return }
        index = QueueIndexBody.load(paths)
        fileLines = index?.lineCount ?? 0
        indexOnDisk = index != nil
        header = index?.header
        exact = header?.exact ?? false
        appended = []
    }

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
        let fact = QueueIndex.Facts(write, bytes: bytes)
        // Counted before it is learned: an item counts once, when no pending write touched it yet.
        countItems(of: fact, by: 1)
        names.append(name.fileName)
        lines.append(nil)
        added.append(name.fileName)
        learn(name.fileName, fact)
    }

    /// Forgets a write (superseded); returns its file (nil for one of this batch not written yet).
    func remove(id: String) -> String? {
        guard let position = names.lastIndex(where: { QueueIndex.writeId(inName: $0) == id }) else { return nil }
        let name = names.remove(at: position)
        let line = lines.remove(at: position)
        if line != nil || appended.contains(name) { exact = false }  // its line stays in the file
        let removed: QueueIndex.Facts?
        if let fact = known.removeValue(forKey: name) {
            removed = fact
            totalBytes -= fact.bytes
            if !appended.contains(name) { missing -= 1 }
            for text in Self.texts(of: fact) { knownByText[text]?.remove(name) }
        } else if let line {
            removed = index?.facts(of: line)
            totalBytes -= line.size
        } else {
            removed = nil
        }
        // Uncounted after it is gone: an item stops counting when no other pending write touches it.
        if let removed { countItems(of: removed, by: -1) } else { items = nil }
        return name
    }

    /// Adds `change` to the count of each item `fact` touches that no pending write (but `fact`) touches.
    private func countItems(of fact: QueueIndex.Facts, by change: Int) {
        guard items != nil else { return }
        for id in Set(fact.targetIds) {
            guard lookUpsLeft > 0 || index == nil else {
                items = nil  // counted whole when the index is written
                return
            }
            if index != nil { lookUpsLeft -= 1 }
            let touched = mentioning(id).contains {
                $0.facts.collection == fact.collection && $0.facts.targetIds.contains(id)
            }
            if !touched { items?[fact.collection, default: 0] += change }
        }
        if items?[fact.collection] == 0 { items?[fact.collection] = nil }
    }

    /// The items `names` touch, counted from every write's facts or line; nil when one has neither (unreadable).
    private func countAllItems() -> [String: Int]? {
        var ids: [String: Set<String>] = [:]
        for (name, line) in zip(names, lines) {
            if let fact = known[name] {
                ids[fact.collection, default: []].formUnion(fact.targetIds)
            } else if let line, let read = index?.targets(of: line) {
                ids[read.collection, default: []].formUnion(read.ids)
            } else {
                return nil
            }
        }
        return ids.mapValues(\.count).filter { $0.value > 0 }
    }

    /// Takes the facts of a pending file this view read or queued.
    private func learn(_ name: String, _ fact: QueueIndex.Facts) {
        known[name] = fact
        totalBytes += fact.bytes
        if !appended.contains(name) { missing += 1 }
        for text in Self.texts(of: fact) { knownByText[text, default: []].insert(name) }
    }

    private static func texts(of fact: QueueIndex.Facts) -> Set<String> {
        Set(fact.touchedKeys).union(fact.appliedItems).union(fact.targetIds)
    }

    /// Records the folder's time after this process changed it, so the next `refresh` needs no listing.
    func markSeen() { seenModified = try? CacheRoot.statusOf(paths.queue)?.modifiedNanoseconds }

    /// Makes the next `refresh` list the folder again (after a failed write, when the view may be wrong).
    func invalidate() { seenModified = nil }

    /// Writes the queue index from this view (holding `QueueIndex.locked`, right after the change it describes).
    /// When the index already has a line for every pending file but the writes added here, those lines and a new
    /// header are appended (O(writes added)); else, or with `whole`, or once most of its lines are dead, it is
    /// written whole and durably: the old index's lines copied as they are, new lines for the rest.
    func writeIndex(whole: Bool = false) throws {
        let bytes = totalBytes
        let fresh = added.filter { known[$0] != nil }  // a removed write has no facts any more
        lookUpsLeft = Self.lookUpsPerWrite
        if !whole, indexOnDisk, missing == fresh.count, fileLines + fresh.count + 1 <= 2 * names.count + 1000 {
            if items == nil { items = countAllItems() }
            let newLines = fresh.compactMap { name in
                known[name].map { Array(QueueIndex.line(name: name, facts: $0).utf8) }
            }
            if try QueueIndex.append(
                paths, lines: newLines, count: names.count, bytes: bytes, oldest: names.first, newest: names.last,
                exact: exact, items: items)
            {
                appended.formUnion(fresh)
                missing -= fresh.count
                added = []
                fileLines += newLines.count + 1
                return
            }
        }
        // Written whole, the counts are counted whole too (O(queue), as the write is): what a repair relies on.
        items = countAllItems()
        var line = lines.makeIterator()
        exact = try QueueIndex.write(paths, names: names, items: items) { name in
            let indexed = line.next() ?? nil
            if let fact = known[name] { return (fact.bytes, Array(QueueIndex.line(name: name, facts: fact).utf8)) }
            guard let indexed, let index else { return nil }
            return (indexed.size, Array(index.bytes(of: indexed)))
        }
        // The file now holds a line for each name this view knows (the old index's bytes stay for the others).
        appended = Set(known.keys)
        missing = 0
        fileLines = names.count + 1
        indexOnDisk = true
        added = []
    }

    /// The pending writes whose facts mention `text` (a key or an item id), with their place in flush order: the
    /// index's lines found by one scan of its bytes, and the writes known here.
    private func mentioning(_ text: String) -> [(at: Int, facts: QueueIndex.Facts)] {
        var found: [(at: Int, facts: QueueIndex.Facts)] = []
        for name in knownByText[text] ?? [] {
            if let fact = known[name], let at = position(of: name) { found.append((at, fact)) }
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
        guard let read = try? queue.readWithSize(name), let at = position(of: name) else { return nil }
        let fact = QueueIndex.Facts(read.write, bytes: read.bytes)
        totalBytes -= lines[at]?.size ?? 0  // the line's size was counted; the file's is
        learn(name, fact)
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
