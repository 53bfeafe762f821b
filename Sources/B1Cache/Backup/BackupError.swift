import Foundation

/// Why a backup or a restore was refused. Nothing was changed when one of these is thrown.
public enum BackupError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The cache folder does not exist, so there is nothing to back up.
    case nothingToBackUp(root: String)
    /// The backup destination is the cache folder or inside it.
    case destinationInsideCache(destination: String, root: String)
    /// The backup destination exists and is not an empty folder (`what` says what it is).
    case destinationExists(path: String, what: String)
    /// The folder that would hold the backup does not exist.
    case destinationParentMissing(path: String)
    /// The restore source does not exist or is not a folder.
    case sourceMissing(path: String)
    /// The restore source is the cache folder, inside it, or holds it.
    case sourceOverlapsCache(source: String, root: String)
    /// The restore source is empty, or holds entries a cache does not (named, folders ending in `/`).
    case sourceNotACache(path: String, entries: [String])
    /// `verify` found problems in the restore source; each line is `kind  path: detail`.
    case invalidSource(path: String, problems: [String])
    /// Restoring would discard writes that exist nowhere else.
    case writesWouldBeLost(pending: Int, failed: Int)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .nothingToBackUp(let root):
            "there is nothing to back up: the cache folder \(root) does not exist"
        case .destinationInsideCache(let destination, let root):
            "the backup destination \(destination) is inside the cache folder \(root)"
        case .destinationExists(let path, let what):
            "the backup destination \(path) \(what)"
        case .destinationParentMissing(let path):
            "the folder \(path) that would hold the backup does not exist"
        case .sourceMissing(let path):
            "the restore source \(path) does not exist or is not a folder"
        case .sourceOverlapsCache(let source, let root):
            "the restore source \(source) overlaps the cache folder \(root) it would replace"
        case .sourceNotACache(let path, let entries) where entries.isEmpty:
            "the restore source \(path) is not a b1cache folder: it is empty"
        case .sourceNotACache(let path, let entries):
            "the restore source \(path) is not a b1cache folder: it holds "
                + entries.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
                + (entries.count > 3 ? " and \(entries.count - 3) more" : "") + ", which a cache never holds"
        case .invalidSource(let path, let problems):
            "the restore source \(path) is not a valid cache "
                + "(\(problems.count) problem\(problems.count == 1 ? "" : "s")); "
                + "nothing was changed:\n" + Self.list(problems)
        case .writesWouldBeLost(let pending, let failed):
            "restore would lose \(pending) pending and \(failed) failed write\(pending + failed == 1 ? "" : "s") "
                + "of the cache it replaces"
        }
    }

    /// What the person can do about it.
    public var hint: String {
        switch self {
        case .nothingToBackUp: "check --cache-dir or B1CACHE_DIR ('b1cache path' prints the folder in use)"
        case .destinationInsideCache: "choose a destination outside the cache folder"
        case .destinationExists: "choose a path that does not exist yet, or an empty folder"
        case .destinationParentMissing: "create that folder first, or choose another destination"
        case .sourceNotACache(let path, let entries) where entries.count == 1 && entries[0].hasSuffix("/"):
            "if \(path)/\(entries[0].dropLast()) is the copy of a cache, restore from that folder"
        case .sourceMissing, .sourceNotACache:
            "give the folder that 'b1cache backup' (or a 'cp -a' of the cache folder) created"
        case .sourceOverlapsCache: "restore from a copy outside the cache folder"
        case .invalidSource: "run 'b1cache verify --repair --cache-dir SRC' on a copy of the source, then restore that"
        case .writesWouldBeLost:
            "run 'b1cache flush' first, or keep a copy with 'b1cache backup DEST', or discard them with --force"
        }
    }

    private static func list(_ problems: [String]) -> String {
        let shown = problems.prefix(20).map { "  " + $0 }
        let more = problems.count > 20 ? ["  … and \(problems.count - 20) more"] : []
        return (shown + more).joined(separator: "\n")
    }
}
