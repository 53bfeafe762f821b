import Foundation

/// The folders backup and restore build beside their destination before renaming them into place. Hidden names in
/// the destination's parent, so nothing mistakes a half-built copy for a cache or a backup.
extension CachePaths {
    /// Prefix of a restore's copy of its source, built beside the root: `.<root name>.restoring-<tag>`.
    var restoreStagingPrefix: String { ".\(root.lastPathComponent).restoring-" }
    /// Prefix of the old root that a restore renamed aside: `.<root name>.restore-old-<tag>`.
    var restoreAsidePrefix: String { ".\(root.lastPathComponent).restore-old-" }

    func restoreStaging(_ tag: ProcessTag) -> URL { besideRoot(restoreStagingPrefix + tag.text) }
    func restoreAside(_ tag: ProcessTag) -> URL { besideRoot(restoreAsidePrefix + tag.text) }

    private func besideRoot(_ name: String) -> URL { root.deletingLastPathComponent().appendingPathComponent(name) }

    /// Prefix of a backup's copy being built beside `destination`: `.<destination name>.b1backup-<tag>`.
    static func backupStagingPrefix(for destination: URL) -> String { ".\(destination.lastPathComponent).b1backup-" }

    static func backupStaging(for destination: URL, _ tag: ProcessTag) -> URL {
        destination.deletingLastPathComponent().appendingPathComponent(backupStagingPrefix(for: destination) + tag.text)
    }
}
