import Foundation

/// The calls b1cache made to put files on disk, as `B1CACHE_SYSCALL_LOG` records them (see `SystemCallLog` in
/// System.swift), with the checks of the durability rule: a file is replaced by creating a temp file, writing it,
/// fsyncing it, renaming it over the destination and fsyncing the destination's folder, in that order.
///
/// A SIGKILL keeps the page cache, so the crash tests cannot see a missing fsync; this record can.
struct SystemCallTrace {
    struct Call: CustomStringConvertible {
        var index: Int
        var pid: String
        var name: String
        var path: String
        /// The second path of a rename.
        var destination: String?

        var description: String { "#\(index) \(name) \(path)" + (destination.map { " -> \($0)" } ?? "") }
    }

    let calls: [Call]
    /// The cache root as b1cache names it, so paths can be shown and matched relative to it.
    let root: String

    init(log: URL, root: URL) throws {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        calls = text.split(separator: "\n").enumerated().map { index, line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Call(
                index: index, pid: fields.first ?? "", name: fields.count > 1 ? fields[1] : "",
                path: fields.count > 2 ? fields[2] : "", destination: fields.count > 3 ? fields[3] : nil)
        }
        self.root = root.standardizedFileURL.path
    }

    /// `path` relative to the cache root (unchanged when outside it).
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// The renames whose destination, relative to the root, matches `pattern` (a regular expression, whole path).
    func renames(into pattern: String) -> [Call] {
        calls.filter { call in
            guard call.name == "rename", let destination = call.destination else { return false }
            return relative(destination).range(of: "^" + pattern + "$", options: .regularExpression) != nil
        }
    }

    static func parent(_ path: String) -> String { (path as NSString).deletingLastPathComponent }
    static func isTempName(_ path: String) -> Bool { (path as NSString).lastPathComponent.hasPrefix(".b1tmp-") }

    /// What breaks the durability rule in one rename of a file into place; empty when it was done right.
    func problems(replacing rename: Call) -> [String] {
        guard let destination = rename.destination else { return ["\(rename): not a rename"] }
        let what = relative(destination)
        let source = rename.path
        var problems: [String] = []
        if !Self.isTempName(source) { problems.append("\(what): renamed from \(source), which is not a temp name") }
        let before = calls[..<rename.index].filter { $0.pid == rename.pid }
        guard let created = before.last(where: { $0.name == "create" && $0.path == source }) else {
            return problems + ["\(what): its temp file \(relative(source)) was not created (written in place?)"]
        }
        let sinceCreated = before.filter { $0.index > created.index && $0.path == source }
        let writes = sinceCreated.filter { $0.name == "write" }
        if writes.isEmpty { problems.append("\(what): nothing written to its temp file") }
        if let synced = sinceCreated.last(where: { $0.name == "fsync" }) {
            if let late = writes.last, late.index > synced.index { problems.append("\(what): written after its fsync") }
        } else {
            problems.append("\(what): temp file not fsynced before the rename")
        }
        let folder = Self.parent(destination)
        if !calls[rename.index...].contains(where: {
            $0.pid == rename.pid && $0.name == "fsync-dir" && $0.path == folder
        }) {
            problems.append("\(what): its folder \(relative(folder)) not fsynced after the rename")
        }
        let inPlace = calls.filter { ["create", "write", "fsync"].contains($0.name) && $0.path == destination }
        if !inPlace.isEmpty { problems.append("\(what): written in place: \(inPlace)") }
        return problems
    }

    /// Every rename into `pattern` checked; fails (returns a problem) when there was none, so a test of a kind of
    /// file can never pass by not writing it.
    func problems(replacingFilesMatching pattern: String, atLeast minimum: Int = 1) -> [String] {
        let found = renames(into: pattern)
        if found.count < minimum {
            return ["expected at least \(minimum) rename into \(pattern), found \(found.count); calls: \(calls)"]
        }
        return found.flatMap { problems(replacing: $0) }
    }

    /// Every removal of a file matching `pattern` followed by an fsync of its folder (so the removal survives a
    /// crash); fails when there was none.
    func problems(removingFilesMatching pattern: String, atLeast minimum: Int = 1) -> [String] {
        let removals = calls.filter {
            $0.name == "unlink" && relative($0.path).range(of: "^" + pattern + "$", options: .regularExpression) != nil
        }
        if removals.count < minimum {
            return ["expected at least \(minimum) removal of \(pattern), found \(removals.count); calls: \(calls)"]
        }
        return removals.compactMap { removal in
            let folder = Self.parent(removal.path)
            let synced = calls[removal.index...].contains {
                $0.pid == removal.pid && $0.name == "fsync-dir" && $0.path == folder
            }
            return synced ? nil : "\(relative(removal.path)): removed without an fsync of its folder after"
        }
    }

    /// The index of the first call matching, for ordering checks.
    func firstIndex(_ name: String, _ pattern: String) -> Int? {
        calls.first {
            $0.name == name
                && relative($0.destination ?? $0.path).range(
                    of: "^" + pattern + "$",
                    options: .regularExpression) != nil
        }?.index
    }
}
