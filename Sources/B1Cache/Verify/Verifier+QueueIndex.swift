import Foundation

extension Verifier {
    /// `queue-index.jsonl` (FORMATS.md §5) is a hint, so one that is merely out of date is no problem (readers see
    /// that from `queue/`'s time and list the folder). It is one when it does not end in a header, or when it
    /// claims to describe `queue/` as it is now but does not: then `status` and `inspect` would show its figures.
    /// `--repair` writes it again from the folder (so does the next enqueue or flush).
    func checkQueueIndex() throws -> [VerifyProblem] {
        guard let data = try? System.readFile(paths.queueIndex.path, limit: QueueIndex.maximumFileSize) else {
            return []  // none (or not a regular file: reported with the links and modes)
        }
        var detail: String?
        if QueueIndex.facts(paths) == nil {
            detail =
                "does not end in a header this version can read (\(data.count) bytes; a crash mid-append leaves that)"
        } else if let header = QueueIndex.freshHeader(paths) {
            detail = try mismatch(of: header)
        }
        guard let detail else { return [] }
        var problem = VerifyProblem(
            kind: .staleQueueIndex, path: paths.queueIndex.path,
            detail: detail + "; status and inspect would show wrong figures until the next enqueue or flush")
        if repair {
            if try CacheRoot.statusOf(paths.queue)?.isDirectory == true {
                _ = try QueueIndex.changing(paths) {}
                problem.repair = "written again from queue/"
            } else {
                try QueueIndex.invalidate(paths)
                problem.repair = "removed (there is no queue/ to describe)"
            }
        }
        return [problem]
    }

    /// What a header that claims to be current gets wrong about `queue/`, or nil; the line of every pending file
    /// is checked against the file.
    private func mismatch(of header: QueueIndex.Header) throws -> String? {
        let queue = WriteQueue(paths: paths)
        let names = try queue.pendingNames()
        if header.count != names.count {
            return "says \(header.count) pending writes, queue/ holds \(names.count)"
        }
        if header.oldest != names.first || header.newest != names.last {
            return "names another oldest or newest pending write than queue/ holds"
        }
        // Lines of writes no longer pending are allowed (enqueue appends; readers skip them).
        let facts = QueueIndex.facts(paths) ?? [:]
        var items: [String: Set<String>] = [:]
        var unreadable = false
        for name in names {
            // Unreadable: reported with the write files (the items it touches cannot be counted here).
            guard let read = try? queue.readWithSize(name) else {
                unreadable = true
                continue
            }
            items[read.write.kind.collection.rawValue, default: []].formUnion(read.write.touchedItemIds)
            // No line: enqueue reads the file.
            if let fact = facts[name], QueueIndex.Facts(read.write, bytes: read.bytes) != fact {
                return "says something else of \(name) than the file holds"
            }
        }
        if !unreadable, let counted = header.items, counted != items.mapValues(\.count).filter({ $0.value > 0 }) {
            return "counts other items touched by pending writes than queue/'s files do"
        }
        return nil
    }
}
