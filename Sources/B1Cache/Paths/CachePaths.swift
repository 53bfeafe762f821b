import Foundation

/// Every path inside a cache root (SPEC §2). No other type builds paths by string concatenation.
public struct CachePaths: Sendable, Equatable {
    /// The cache folder (standardized).
    public let root: URL

    /// The paths of the cache at `root` (no file is touched).
    public init(root: URL) { self.root = root.standardizedFileURL }

    /// Resolves the root: `--cache-dir` flag, then `B1CACHE_DIR`, then `$XDG_CACHE_HOME/billingone` when
    /// `XDG_CACHE_HOME` is absolute (a relative value is ignored, as the XDG spec requires), then
    /// `~/.cache/billingone` (Application Support on Apple platforms, where Caches may be purged).
    public static func resolve(
        flag: String?, environment: [String: String],
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> CachePaths {
        func absolute(_ path: String) -> URL {
            let expanded = (path as NSString).expandingTildeInPath
            return expanded.hasPrefix("/")
                ? URL(fileURLWithPath: expanded)
                : URL(fileURLWithPath: currentDirectory).appendingPathComponent(expanded)
        }
        if let flag, !flag.isEmpty { return CachePaths(root: absolute(flag)) }
        if let directory = environment["B1CACHE_DIR"], !directory.isEmpty {
            return CachePaths(root: absolute(directory))
        }
        #if os(Linux) || os(Android) || os(FreeBSD) || os(OpenBSD)
            if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
                return CachePaths(root: URL(fileURLWithPath: xdg).appendingPathComponent("billingone"))
            }
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            return CachePaths(root: URL(fileURLWithPath: home).appendingPathComponent(".cache/billingone"))
        #else
            let support =
                FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask).first
                ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent("Library/Application Support")
            return CachePaths(root: support.appendingPathComponent("billingone"))
        #endif
    }

    /// `manifest.json`.
    public var manifest: URL { root.appendingPathComponent("manifest.json", isDirectory: false) }
    /// `collections/`, the envelopes.
    public var collections: URL { root.appendingPathComponent("collections", isDirectory: true) }
    /// `queue/`, the pending writes.
    public var queue: URL { root.appendingPathComponent("queue", isDirectory: true) }
    /// Staging for atomic creation of write files (same filesystem as `queue/`).
    public var queueStaging: URL { queue.appendingPathComponent(".tmp", isDirectory: true) }
    /// `failed/`, the writes that failed for good.
    public var failed: URL { root.appendingPathComponent("failed", isDirectory: true) }
    /// `history.jsonl`, what flush sent.
    public var history: URL { root.appendingPathComponent("history.jsonl", isDirectory: false) }
    /// `queue-index.jsonl`, the hint that spares status, inspect and enqueue reading `queue/` (FORMATS.md §5).
    public var queueIndex: URL { root.appendingPathComponent("queue-index.jsonl", isDirectory: false) }
    /// `quarantine/`, what `verify --repair` set aside.
    public var quarantine: URL { root.appendingPathComponent("quarantine", isDirectory: true) }
    /// `flush.lock/`, present while a process holds the lock.
    public var lock: URL { root.appendingPathComponent("flush.lock", isDirectory: true) }
    /// `flush.lock/owner.json`.
    public var lockOwner: URL { lock.appendingPathComponent("owner.json", isDirectory: false) }
    /// The running (or last) watcher's state (`b1cache watch`), for `status`.
    public var watchState: URL { root.appendingPathComponent("watch.json", isDirectory: false) }

    /// `collections/<name>.json`.
    public func envelope(for collection: CollectionName) -> URL {
        collections.appendingPathComponent("\(collection.rawValue).json", isDirectory: false)
    }

    /// `queue/<file name>`.
    public func queued(_ fileName: String) -> URL { queue.appendingPathComponent(fileName, isDirectory: false) }
    /// `failed/<file name>`.
    public func failed(_ fileName: String) -> URL { failed.appendingPathComponent(fileName, isDirectory: false) }

    /// The folders every cache has, created on first write.
    public var folders: [URL] { [collections, queue, queueStaging, failed, quarantine] }

    /// The name prefix of a root renamed aside by sign-out; a leftover one is deleted on the next run.
    public var signOutPrefix: String { ".\(root.lastPathComponent).signing-out-" }

    /// A fresh sibling path to rename the root to before deleting it.
    public func signOutAside() -> URL {
        root.deletingLastPathComponent().appendingPathComponent(signOutPrefix + UUID().uuidString.lowercased())
    }
}
