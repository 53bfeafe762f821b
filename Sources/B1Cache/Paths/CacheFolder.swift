import Foundation

/// What a folder given as the cache root holds: the one rule (SPEC §12) that every command which deletes,
/// replaces or repairs a folder applies before it touches anything.
///
/// A folder is a cache when every entry in it is one b1cache makes (`manifest.json`, `collections/`, `queue/`,
/// `failed/`, `history.jsonl`, `quarantine/`, `flush.lock/`, `watch.json`, `queue-index.jsonl`, and its own hidden temp files). With
/// `--cache-dir ~` or a mistyped `B1CACHE_DIR` the root is a home or project folder: its entries are not ours, so
/// sign-out, restore and `verify --repair` refuse it instead of deleting, replacing or re-moding what is in it.
public enum CacheFolder: Equatable, Sendable {
    /// Nothing at the path.
    case missing
    /// An empty folder.
    case empty
    /// A folder that holds only what b1cache makes.
    case cache
    /// A folder that holds entries b1cache never makes: their names, sorted, folders ending in `/`.
    case foreign(entries: [String])

    /// The names b1cache makes at the top of a root (and Finder's `.DS_Store`, which is not the user's data).
    static func isOwnEntry(_ name: String, of paths: CachePaths) -> Bool {
        let own = [
            paths.manifest, paths.collections, paths.queue, paths.failed, paths.history, paths.quarantine,
            paths.lock, paths.watchState, paths.queueIndex,
        ].map(\.lastPathComponent)
        return own.contains(name) || DurableFile.isTempName(name) || name == ".DS_Store"
    }

    /// Looks at the root of `paths` (after the checks of `CacheRoot.check`: never a link, never another user's).
    /// - Throws: `StoreError` when the root is a link, another user's, not a folder, or cannot be listed.
    public static func classify(_ paths: CachePaths) throws -> CacheFolder {
        guard try CacheRoot.check(paths.root) else { return .missing }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: paths.root.path) } catch {
            throw StoreError.unreadable(path: paths.root.path, reason: "cannot list the folder")
        }
        if names.isEmpty { return .empty }
        let foreign = try names.filter { !isOwnEntry($0, of: paths) }.sorted().map { name in
            try CacheRoot.statusOf(paths.root.appendingPathComponent(name))?.isDirectory == true ? name + "/" : name
        }
        return foreign.isEmpty ? .cache : .foreign(entries: foreign)
    }

    /// Refuses a root that holds anything b1cache does not make; returns what the root is otherwise.
    /// - Parameter action: what the caller is about to do, for the message ("delete", "replace", "repair").
    /// - Throws: `StoreError.notACache` naming a few of the entries (nothing was changed), or what `classify` throws.
    @discardableResult
    public static func requireCache(_ paths: CachePaths, toAct action: String) throws -> CacheFolder {
        let folder = try classify(paths)
        if case .foreign(let entries) = folder {
            throw StoreError.notACache(path: paths.root.path, entries: entries, action: action)
        }
        return folder
    }
}
