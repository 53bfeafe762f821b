import Foundation

/// The steps backup and restore share: build a copy under a hidden name beside its destination, then rename it into
/// place, so a reader (or a person looking at the folder) sees the whole copy or none of it.
enum Staging {
    /// Copies the cache at `source` into `staging`, which must not exist. On failure the partial copy is removed.
    static func copy(_ source: CachePaths, into staging: URL) throws -> CacheCopy.Result {
        do {
            return try CacheCopy(source: source, destination: staging).run()
        } catch {
            discard(staging)
            throw error
        }
    }

    /// Renames a finished copy to `destination` (which must not exist, or be an empty folder) and fsyncs the parent,
    /// so the rename survives a crash. On failure the copy is removed and `destination` is unchanged.
    static func moveIntoPlace(_ staging: URL, at destination: URL) throws {
        do {
            try DurableFile.move(staging, to: destination)
        } catch {
            discard(staging)  // gone already when the rename went through and only the fsync failed
            throw StoreError.from(error, writing: destination)
        }
    }

    /// Removes a copy that will not be used. A failure leaves it for the next run's sweep, so it is not reported.
    static func discard(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// Whether `inner` is `outer` or inside it, after resolving symbolic links in the parts that exist (so
    /// `/tmp/c` and `/private/tmp/c` are the same folder).
    static func isSameOrInside(_ inner: URL, _ outer: URL) -> Bool {
        let inside = canonicalPath(inner), container = canonicalPath(outer)
        return inside == container || inside.hasPrefix(container.hasSuffix("/") ? container : container + "/")
    }

    private static func canonicalPath(_ url: URL) -> String {
        var existing = url.standardizedFileURL
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing = existing.deletingLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for component in rest { resolved.appendPathComponent(component) }
        return resolved.path
    }
}
