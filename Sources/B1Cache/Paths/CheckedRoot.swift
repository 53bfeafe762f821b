import Foundation
import Synchronization

/// The root one operation has already checked (a real folder, this user's): while it runs, `CacheRoot.check`
/// answers from memory instead of an lstat in every layer it passes through (a flush checked its root 14 times:
/// the queue listing, the claim's manifest read, each envelope read, each batch's preparation).
///
/// Scoped to one operation (`Cache` wraps each method in `CacheRoot.checkingOnce`), never to a handle held for
/// hours: another process may delete the folder between two operations, and the next one must see that.
final class CheckedRoot: Sendable {
    let path: String
    private let exists = Mutex(false)

    init(path: String) { self.path = path }

    /// True once a check in this scope found the root a real folder of this user.
    var isKnownToExist: Bool { exists.withLock { $0 } }
    func markExisting() { exists.withLock { $0 = true } }
}

extension CacheRoot {
    /// The root checked by the operation running on this task, if any.
    @TaskLocal static var checked: CheckedRoot?

    /// Runs `body` as one operation on the cache at `paths`: its root is checked by the first `check` inside, then
    /// trusted until `body` returns.
    public static func checkingOnce<T: Sendable>(_ paths: CachePaths, _ body: () async throws -> T) async throws -> T {
        try await $checked.withValue(CheckedRoot(path: paths.root.path)) { try await body() }
    }

    /// The synchronous form of `checkingOnce`.
    public static func checkingOnce<T>(_ paths: CachePaths, _ body: () throws -> T) throws -> T {
        try $checked.withValue(CheckedRoot(path: paths.root.path)) { try body() }
    }
}
