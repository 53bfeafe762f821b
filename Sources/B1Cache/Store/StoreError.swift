import Foundation

/// What can go wrong reading or writing the cache files. Each case carries the path a person needs.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The root is a symbolic link; following it could write the cache somewhere unexpected.
    case rootIsSymbolicLink(path: String)
    /// A symbolic link inside the root where b1cache expects a real folder or file (`queue/`, `collections/`,
    /// `flush.lock/owner.json`, …). b1cache never makes one and never reads or writes through one.
    case symbolicLink(path: String)
    /// The root (or a folder in it) belongs to another user.
    case ownedByAnotherUser(path: String, owner: UInt32)
    /// Something other than a folder is where the root or one of its folders should be.
    case notADirectory(path: String)
    /// A file that must hold JSON does not parse, or does not have the expected shape.
    case corrupt(path: String, reason: String)
    /// A file written by a newer b1cache.
    case newerSchema(path: String, version: Int)
    /// A file of a schema older than any migration this version has.
    case unsupportedSchema(path: String, version: Int)
    /// Reading a file failed for a reason other than its content.
    case unreadable(path: String, reason: String)
    /// Writing failed; nothing partial was left behind.
    case writeFailed(path: String, reason: String)
    /// A collection name that is not one of the nine.
    case unknownCollection(name: String)
    /// No item with this id in the collection.
    case itemNotFound(collection: String, id: String)
    /// The folder given as the cache holds entries b1cache never makes, so it will not `action` it.
    case notACache(path: String, entries: [String], action: String)
    /// There is no cache at the path (missing, or an empty folder).
    case noCache(path: String, empty: Bool)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .rootIsSymbolicLink(let path):
            "the cache folder \(path) is a symbolic link, which b1cache refuses to follow"
        case .symbolicLink(let path):
            "\(path) is a symbolic link, which b1cache never makes and refuses to follow; nothing was read or written through it"
        case .ownedByAnotherUser(let path, let owner):
            "\(path) belongs to another user (uid \(owner)), so b1cache will not use it"
        case .notADirectory(let path):
            "\(path) is not a folder"
        case .corrupt(let path, let reason):
            "\(path) is corrupt: \(reason)"
        case .newerSchema(let path, let version):
            "\(path) was written by a newer b1cache (schema \(version)); upgrade b1cache"
        case .unsupportedSchema(let path, let version):
            "\(path) has schema \(version), older than any this b1cache can migrate"
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .writeFailed(let path, let reason):
            "cannot write \(path): \(reason)"
        case .unknownCollection(let name):
            "there is no collection named '\(name)'"
        case .itemNotFound(let collection, let id):
            "no item with id '\(id)' in \(collection)"
        case .notACache(let path, let entries, let action):
            "\(path) is not a b1cache cache, so b1cache will not \(action) it: it holds "
                + Self.named(entries) + ", which b1cache never makes; nothing was changed"
        case .noCache(let path, let empty):
            empty
                ? "there is no cache at \(path): the folder is empty"
                : "there is no cache at \(path): it does not exist"
        }
    }

    /// What the person can do about it.
    public var hint: String {
        switch self {
        case .rootIsSymbolicLink: "point --cache-dir or B1CACHE_DIR at the real folder"
        case .symbolicLink:
            "run 'b1cache verify --repair' to move the link into quarantine/ (what it points to is left alone), "
                + "then move any files you need from there into the cache as real files"
        case .ownedByAnotherUser: "run b1cache as the folder's owner, or choose another folder with --cache-dir"
        case .notADirectory: "move the file away or choose another folder with --cache-dir"
        case .corrupt(let path, _) where Self.holdsWrites(path),
            .unsupportedSchema(let path, _) where Self.holdsWrites(path):
            // Sync cannot bring back a pending write: say where it stays readable instead.
            "run 'b1cache verify --repair' to move it to quarantine/, where it is kept for you to read (not deleted)"
        case .corrupt, .unsupportedSchema:
            "run 'b1cache verify --repair' to move it to quarantine/, then 'b1cache sync' to download it again"
        case .newerSchema: "install the newer b1cache that wrote this cache"
        case .unreadable, .writeFailed: "check the folder's permissions and free space, then try again"
        case .unknownCollection: "collections are: \(CollectionName.namesList)"
        case .itemNotFound: "list the ids with 'b1cache show COLLECTION | jq -r .id'"
        case .notACache(_, let entries, _) where entries.count == 1:
            "check --cache-dir and B1CACHE_DIR ('b1cache path' prints the folder in use); if it is a cache, move "
                + "'\(entries[0])' out of it (a copy of a cache made into an existing folder sits one level down)"
        case .notACache:
            "check --cache-dir and B1CACHE_DIR ('b1cache path' prints the folder in use); a cache holds only "
                + "manifest.json, collections/, queue/, failed/, history.jsonl, quarantine/ and flush.lock/"
        case .noCache: "check --cache-dir and B1CACHE_DIR ('b1cache path' prints the folder in use)"
        }
    }

    /// `'a', 'b/', 'c' and 4 more`, for naming what a folder holds.
    private static func named(_ entries: [String]) -> String {
        let shown = entries.prefix(3).map { "'" + $0 + "'" }
        let more = entries.count > 3 ? " and \(entries.count - 3) more" : ""
        return shown.joined(separator: ", ") + more
    }

    /// True for `queue/`, `failed/` and the files in them.
    private static func holdsWrites(_ path: String) -> Bool {
        let url = URL(fileURLWithPath: path)
        return ["queue", "failed"].contains(url.lastPathComponent)
            || ["queue", "failed"].contains(url.deletingLastPathComponent().lastPathComponent)
    }

    /// Wraps a failed read of a file inside the cache. What the cache itself holds wrong (a symbolic link, a folder
    /// or pipe where a file belongs, a file too large to be one of b1cache's) is `corrupt`, so `verify --repair`
    /// moves it to quarantine/; anything else (permissions, I/O) is `unreadable`.
    static func from(_ error: SystemCallError, reading path: String) -> StoreError {
        if error.isSymbolicLink {
            return .corrupt(path: path, reason: "is a symbolic link, which b1cache never follows")
        }
        if error.isNotARegularFile { return .corrupt(path: path, reason: "is not a regular file") }
        if error.isTooLarge {
            return .corrupt(path: path, reason: "is larger than any file of its kind b1cache writes")
        }
        return .unreadable(path: path, reason: error.reason)
    }

    /// Wraps a failed system call with the path it concerned.
    static func from(_ error: Error, writing path: URL) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? SystemCallError { return .writeFailed(path: path.path, reason: error.reason) }
        return .writeFailed(path: path.path, reason: "\(error)")
    }
}
