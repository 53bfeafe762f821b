import Foundation

extension ServerClient {
    /// One account per cache (SPEC §8): asks the server whose token this is, refuses another account than the
    /// one the cache was filled for, and records the account on first use. Call it before sending or writing
    /// anything, under the cache lock.
    /// - Throws: `ServerError.otherAccount` (naming both), `.unauthorized`; `TransportError` when offline.
    @discardableResult
    public func claim(_ paths: CachePaths) async throws -> Account {
        let account = try await session()
        let store = CacheStore(paths: paths)
        var manifest = try store.manifest()
        if let owner = manifest.account {
            guard owner.orgId == account.orgId && owner.userId == account.userId else {
                throw ServerError.otherAccount(cache: owner, token: account)
            }
        } else {
            manifest.account = account
            try store.writeManifest(manifest)
        }
        return account
    }
}
