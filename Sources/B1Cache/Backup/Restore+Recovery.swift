import Foundation

extension Restore {
    /// Finishes or undoes a restore that was killed, from what it left beside the root (see `Restore`):
    /// - the old root aside and no root: the copy was complete before the old root was moved, so the copy is
    ///   renamed into place (without a copy, the old root is put back); then the old root is deleted;
    /// - a copy without an old root aside: the restore never swapped, so the copy is deleted.
    ///
    /// Folders of a restore that is still running (its process is alive) are left alone.
    /// - Throws: `StoreError.writeFailed` naming the folder that could not be renamed or deleted.
    public static func finishInterrupted(_ paths: CachePaths) throws {
        let parent = paths.root.deletingLastPathComponent()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for name in names where name.hasPrefix(paths.restoreAsidePrefix) {
            let text = String(name.dropFirst(paths.restoreAsidePrefix.count))
            guard let tag = ProcessTag(text: text), !tag.isLive else { continue }
            let aside = parent.appendingPathComponent(name), staging = paths.restoreStaging(tag)
            do {
                if try CacheRoot.statusOf(paths.root) == nil {
                    let replacement = try CacheRoot.statusOf(staging) != nil ? staging : aside
                    try DurableFile.move(replacement, to: paths.root)
                }
                if try CacheRoot.statusOf(aside) != nil { try FileManager.default.removeItem(at: aside) }
            } catch {
                throw StoreError.writeFailed(
                    path: aside.path,
                    reason: "could not finish an interrupted restore (\(error))")
            }
        }
        for name in names where name.hasPrefix(paths.restoreStagingPrefix) {
            let text = String(name.dropFirst(paths.restoreStagingPrefix.count))
            guard let tag = ProcessTag(text: text), !tag.isLive else { continue }
            let staging = parent.appendingPathComponent(name)
            do {
                if try CacheRoot.statusOf(staging) != nil { try FileManager.default.removeItem(at: staging) }
            } catch {
                throw StoreError.writeFailed(
                    path: staging.path,
                    reason: "could not remove the copy of an interrupted restore (\(error))")
            }
        }
    }

    /// Whether a killed restore left the cache to be finished by the next run (read-only; for `status`).
    public static func isInterrupted(_ paths: CachePaths) -> Bool {
        let parent = paths.root.deletingLastPathComponent()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return false }
        return names.contains { $0.hasPrefix(paths.restoreAsidePrefix) || $0.hasPrefix(paths.restoreStagingPrefix) }
    }
}
