import Foundation

extension Verifier {
    /// `queue-index.jsonl` (FORMATS.md §5) is a hint, so one that is merely out of date is no problem (readers see
    /// that from `queue/`'s time and list the folder). It is one when it cannot be read as an index, or when it
    /// claims to describe `queue/` as it is now but does not: then `status` and `inspect` would show its figures.
    /// `--repair` writes it again from the folder.
    func checkQueueIndex() throws -> [VerifyProblem] {
        guard let data = try? System.readFile(paths.queueIndex.path, limit: QueueIndex.maximumFileSize) else {
            return []  // none (or not a regular file: reported with the links and modes)
        }
        var detail: String?
        if QueueIndex.facts(paths) == nil {
            detail = "is not a queue index this version can read (\(data.count) bytes)"
        } else if let header = QueueIndex.freshHeader(paths) {
            detail = try mismatch(of: header)
        }
        guard let detail else { return [] }
        var problem = VerifyProblem(
            kind: .staleQueueIndex, path: paths.queueIndex.path,
            detail: detail + "; status and inspect would show wrong figures until the next enqueue or flush")
        if repair {
            _ = try QueueIndex.changing(paths) {}
            problem.repair = "written again from queue/"
        }
        return [problem]
    }

    /// What a header that claims to be current gets wrong about `queue/`, or nil; every line is checked against
    /// the write file it names.
    private func mismatch(of header: QueueIndex.Header) throws -> String? {
        let queue = WriteQueue(paths: paths)
        let names = try queue.pendingNames()
        if header.count != names.count {
            return "says \(header.count) pending writes, queue/ holds \(names.count)"
        }
        if header.oldest != names.first || header.newest != names.last {
            return "names another oldest or newest pending write than queue/ holds"
        }
        let listed = Set(names)
        for (name, fact) in QueueIndex.facts(paths) ?? [:] {
            guard listed.contains(name) else { return "names \(name), which queue/ does not hold" }
            guard let read = try? queue.readWithSize(name) else { continue }  // reported as unreadable
            if QueueIndex.Facts(read.write, bytes: read.bytes) != fact {
                return "says something else of \(name) than the file holds"
            }
        }
        return nil
    }
}
