import Foundation

/// `queue-index.jsonl`, beside `queue/`: a hint that lets `status`, `inspect` and `enqueue` skip reading the queue.
/// Never a source of truth (FORMATS.md §5, "The queue index"): the write files are.
///
/// The last line is the header: how many files `queue/` holds, their bytes, the oldest and newest name, how many
/// distinct items the pending writes touch in each collection (`items`, when every file's facts were known), and
/// the folder's modification time (`queueModified`, nanoseconds) when it described it. Each other line is one
/// pending write in flush order: `[file name, bytes, supersede key, touched keys, applied items, collection,
/// target ids]`, what `QueueView` needs to coalesce without opening the file.
///
/// How it stays honest: every b1cache process that changes `queue/` does so holding a `flock` on the folder and
/// removes the index first (so a crash mid-change leaves none); enqueue writes it again after its change, flush
/// at its end. A reader trusts the header only while `queue/`'s modification time is still `queueModified`;
/// anything else (missing, unreadable, another schema, another time) means "list the folder". Enqueue trusts a
/// line only for a file name it finds in the listing (names are never reused, and a write file's id, kind and
/// payload never change), and reads the files the index does not name.
enum QueueIndex {
    static let format = "b1cache.queue-index"
    static let schemaVersion = 1
    /// Far above what 100,000 pending writes take; a larger file is not one b1cache wrote.
    static let maximumFileSize = 256 * 1024 * 1024

    /// What the first line says of `queue/`.
    struct Header: Equatable {
        var queueModified: Int64
        var count: Int
        var bytes: Int64
        var oldest: String?
        var newest: String?
        /// True when the file holds exactly one line for each pending file and no other: a reader may then take
        /// the lines without listing `queue/` (false once a superseded write leaves its line behind).
        var exact = false
        /// How many distinct items the pending writes touch, by collection (collections with none left out): the
        /// triage counts' pending side (`ItemStateCounts`) without reading a line. Nil when some pending file's
        /// facts were unknown as the header was written (unreadable), or from an index written before it existed.
        var items: [String: Int]?
    }

    /// What coalescing needs of one pending write (`WritePayload`'s keys), what the triage counts need (the
    /// collection and items it touches, `PendingWrite.touchedItemIds`), and its size.
    struct Facts: Equatable {
        var id: String
        var bytes: Int64
        var supersedeKey: String?
        var touchedKeys: [String]
        var appliedItems: [String]
        var collection: String
        var targetIds: [String]

        init(_ write: PendingWrite, bytes: Int64) {
            let payload = write.typedPayload
            id = write.id
            self.bytes = bytes
            supersedeKey = payload.supersedeKey
            touchedKeys = payload.touchedKeys.sorted()
            appliedItems = payload.appliedItems
            collection = write.kind.collection.rawValue
            targetIds = payload.targetIds
        }

        init(
            id: String, bytes: Int64, supersedeKey: String?, touchedKeys: [String], appliedItems: [String],
            collection: String, targetIds: [String]
        ) {
            self.id = id
            self.bytes = bytes
            self.supersedeKey = supersedeKey
            self.touchedKeys = touchedKeys
            self.appliedItems = appliedItems
            self.collection = collection
            self.targetIds = targetIds
        }
    }

    // MARK: Reading

    /// The header, when the index describes `queue/` as it is now (its modification time unchanged); else nil.
    static func freshHeader(_ paths: CachePaths) -> Header? {
        guard let queue = try? CacheRoot.statusOf(paths.queue), queue.isDirectory,
            let data = try? System.readTail(paths.queueIndex.path, count: 16 * 1024),
            let header = header(of: data), header.queueModified == queue.modifiedNanoseconds
        else { return nil }
        return header
    }

    /// The lines of the index by file name, whatever its header says (verify checks them against the files); nil
    /// when there is no index of this schema ending in a header.
    static func facts(_ paths: CachePaths) -> [String: Facts]? {
        guard let data = try? System.readFile(paths.queueIndex.path, limit: maximumFileSize), header(of: data) != nil
        else { return nil }
        var facts: [String: Facts] = [:]
        // Headers of before and lines that do not parse (the remains of a torn append) are skipped, as readers do.
        for line in data.split(separator: UInt8(ascii: "\n")) where line.first != UInt8(ascii: "{") {
            if let parsed = parseLine(Data(line)) { facts[parsed.name] = parsed.facts }
        }
        return facts
    }

    /// One line: `[file name, bytes, supersede key, touched keys, applied items, collection, target ids]`.
    static func parseLine(_ line: Data) -> (name: String, facts: Facts)? {
        guard let value = try? JSONParser.parse(line), let fields = value.arrayValue, fields.count == 7,
            let name = fields[0].stringValue, let id = writeId(inName: name),
            let bytes = fields[1].intValue,
            let touched = fields[3].arrayValue?.compactMap(\.stringValue),
            let applied = fields[4].arrayValue?.compactMap(\.stringValue),
            let collection = fields[5].stringValue,
            let targets = fields[6].arrayValue?.compactMap(\.stringValue)
        else { return nil }
        let key = fields[2].stringValue
        // Touched keys are left out when they are only the write's own key (most writes).
        let facts = Facts(
            id: id, bytes: Int64(bytes), supersedeKey: key,
            touchedKeys: touched.isEmpty ? key.map { [$0] } ?? [] : touched, appliedItems: applied,
            collection: collection, targetIds: targets)
        return (name, facts)
    }

    /// One line's bytes (see `parseLine`).
    static func line(name: String, facts fact: Facts) -> String {
        JSONWriter.compactString(
            .array([
                .string(name), .integer(fact.bytes), .optionalString(fact.supersedeKey),
                .array(fact.touchedKeys == fact.supersedeKey.map { [$0] } ? [] : fact.touchedKeys.map { .string($0) }),
                .array(fact.appliedItems.map { .string($0) }), .string(fact.collection),
                .array(fact.targetIds.map { .string($0) }),
            ]))
    }

    /// The id part of a write file name (`TIME-SEQUENCE-ID.json`), without parsing its time: the names come from
    /// the listing, which `WriteFileName` judges where a file is read.
    static func writeId(inName name: String) -> String? {
        guard name.hasSuffix(".json") else { return nil }
        let parts = name.dropLast(5).split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 && !parts[2].isEmpty ? String(parts[2]) : nil
    }

    /// The header: the file's last line (a torn last line makes no header, so the index is ignored).
    static func header(of data: Data) -> Header? {
        guard data.last == UInt8(ascii: "\n") else { return nil }
        let body = data.dropLast()
        let last = body.lastIndex(of: UInt8(ascii: "\n")).map { body[($0 + 1)...] } ?? body
        guard let value = try? JSONParser.parse(Data(last)), let object = value.objectValue,
            object["format"]?.stringValue == format, object["schemaVersion"]?.intValue == schemaVersion,
            let modified = object["queueModified"]?.intValue, let count = object["count"]?.intValue,
            let bytes = object["bytes"]?.intValue
        else { return nil }
        return Header(
            queueModified: Int64(modified), count: count, bytes: Int64(bytes), oldest: object["oldest"]?.stringValue,
            newest: object["newest"]?.stringValue, exact: object["exact"]?.boolValue ?? false,
            items: object["items"]?.objectValue.flatMap(itemCounts(in:)))
    }

    /// The `items` member's counts; nil when any is not a count (the header then says nothing of items).
    private static func itemCounts(in object: JSONObject) -> [String: Int]? {
        var counts: [String: Int] = [:]
        for (collection, value) in object.members {
            guard let count = value.intValue, count > 0 else { return nil }
            counts[collection] = count
        }
        return counts
    }

    // MARK: Writing (holding `locked`)

    /// Runs `body` holding the `flock` on `queue/` that every b1cache change of the folder takes.
    static func locked<T>(_ paths: CachePaths, _ body: () throws -> T) throws -> T {
        do {
            return try System.withFolderLock(paths.queue.path, body)
        } catch let error as SystemCallError {
            throw StoreError.from(error, writing: paths.queue)
        }
    }

    /// Removes the index before `queue/` changes (holding `locked`), so a crash mid-change leaves no stale hint.
    static func invalidate(_ paths: CachePaths) throws {
        do { try System.removeFile(paths.queueIndex.path) } catch { throw StoreError.from(error, writing: paths.root) }
    }

    /// Removes the index, runs `body` (a change of `queue/`), and writes the index again from the folder, all
    /// holding `locked`. `known` are write files the caller has read, by name: only their size is looked up.
    /// Returns what `body` returned and the pending file names after it.
    static func changing<T>(
        _ paths: CachePaths, known: [String: PendingWrite] = [:], _ body: () throws -> T
    ) throws -> (result: T, pending: [String]) {
        try locked(paths) {
            let view = QueueView(paths: paths)
            view.readIndexOnce()
            try invalidate(paths)
            let result = try body()
            try view.refresh(known: known, rereadIndex: false)
            try? view.writeIndex(whole: true)  // a hint: a disk that refuses it loses nothing
            return (result, view.names)
        }
    }

    /// Writes the whole index: a line for each of `names` (flush order) from `line`, which gives the line and
    /// the file's bytes (nil leaves a file out: one that could not be read), then the header, stamped with
    /// `queue/`'s modification time now (holding `locked`, after the change). Durable, as every file of the cache;
    /// staged in `queue/.tmp`, so `queue/`'s own time stays as it was.
    /// `items` goes in the header only when every name has a line (else a reader must read the files left out).
    @discardableResult
    static func write(
        _ paths: CachePaths, names: [String], items: [String: Int]?,
        line: (String) -> (bytes: Int64, line: [UInt8])?
    ) throws -> Bool {
        var bytes: Int64 = 0
        var lines = 0
        var body: [UInt8] = []
        body.reserveCapacity(names.count * 120)
        for name in names {
            guard let entry = line(name) else { continue }
            lines += 1
            bytes += entry.bytes
            body += entry.line
            body.append(UInt8(ascii: "\n"))
        }
        let exact = lines == names.count
        guard
            let header = try header(
                paths, count: names.count, bytes: bytes, oldest: names.first, newest: names.last, exact: exact,
                items: exact ? items : nil)
        else { return false }
        var data = Data(body)
        data.append(header)
        // Staged in queue/.tmp, whose orphans every enqueue sweeps (a crash must leave no temp at the root).
        do { try DurableFile.write(data, to: paths.queueIndex, staging: paths.queueStaging) } catch {
            throw StoreError.from(error, writing: paths.queueIndex)
        }
        return exact
    }

    /// Appends the lines of writes just queued (newer than every line already there, so the order holds) and a
    /// new header, with one `write(2)`; false when there is no index to append to. Not fsynced: losing the append
    /// in a crash leaves the previous header, whose `queueModified` is older than the folder's, and a torn append
    /// ends without a header; either way the index is ignored, never believed. The lines of removed writes stay
    /// until the next whole `write` (readers skip lines of names not listed).
    static func append(
        _ paths: CachePaths, lines: [[UInt8]], count: Int, bytes: Int64, oldest: String?, newest: String?,
        exact: Bool, items: [String: Int]?
    ) throws -> Bool {
        guard
            let header = try header(
                paths, count: count, bytes: bytes, oldest: oldest, newest: newest, exact: exact, items: items)
        else {
            return false
        }
        // A newline first: after a torn append the file ends mid-line, and this append must not be glued to it.
        var data = Data([UInt8(ascii: "\n")])
        for line in lines {
            data.append(contentsOf: line)
            data.append(UInt8(ascii: "\n"))
        }
        data.append(header)
        do { return try System.appendToExisting(data, at: paths.queueIndex.path) } catch {
            throw StoreError.from(error, writing: paths.queueIndex)
        }
    }

    /// The header line (with its newline), stamped with `queue/`'s time now; nil without a `queue/`.
    private static func header(
        _ paths: CachePaths, count: Int, bytes: Int64, oldest: String?, newest: String?, exact: Bool,
        items: [String: Int]?
    ) throws -> Data? {
        guard let queue = try CacheRoot.statusOf(paths.queue) else { return nil }
        // A file that could not be read has no line but is still counted: the header counts the folder.
        var header: JSONObject = [
            "format": .string(format), "schemaVersion": .integer(schemaVersion),
            "queueModified": .integer(queue.modifiedNanoseconds), "count": .integer(count),
            "bytes": .integer(bytes), "oldest": .optionalString(oldest), "newest": .optionalString(newest),
            "exact": .bool(exact),
        ]
        if let items {
            header["items"] = .object(JSONObject(items.filter { $0.value > 0 }.mapValues { .integer($0) }))
        }
        return Data((JSONWriter.compactString(.object(header)) + "\n").utf8)
    }
}
