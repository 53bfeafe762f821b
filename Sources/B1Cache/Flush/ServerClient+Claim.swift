import Foundation

extension ServerClient {
    /// One account per cache (SPEC §7, §8): asks the server whose token this is, and refuses a cache, or a pending
    /// write, of another account; records the account on first use. Call it before sending or writing anything,
    /// under the cache lock.
    ///
    /// A cache whose account is not known (never synced, or `verify --repair` rebuilt a lost manifest) but which
    /// holds cached data is never merged into: that data and its cursors may be another account's, and an
    /// incremental pull from such a cursor would mix two accounts' figures. Its envelopes are emptied (revision on,
    /// no cursor) as the account is recorded, so every collection is pulled again whole.
    /// - Parameter pending: the pending writes, when the caller has read them (else they are read here).
    /// - Throws: `ServerError.otherAccount` (naming both), `.writesOfOtherAccount`, `.writesOfUnknownAccount`,
    ///   `.unauthorized` (nothing changed for any of them);
    ///   `TransportError` when offline; `StoreError` when the manifest cannot be read or written.
    @discardableResult
    public func claim(_ paths: CachePaths, pending: [PendingWrite]? = nil) async throws -> Account {
        let account = try await session()
        let store = CacheStore(paths: paths)
        let manifest = try store.manifest()
        if let owner = manifest.account, !owner.isSame(as: account) {
            throw ServerError.otherAccount(cache: owner, token: account)
        }
        let writes = try pending ?? WriteQueue(paths: paths).readablePending()
        let foreign = writes.filter { $0.account.map { !$0.isSame(as: account) } ?? false }
        if let first = foreign.first?.account {
            throw ServerError.writesOfOtherAccount(count: foreign.count, writes: first, token: account)
        }
        guard manifest.account == nil else { return account }
        var emptied: [Envelope] = []
        for collection in CollectionName.allCases {
            guard
                try CacheRoot.statusOf(paths.envelope(for: collection)) != nil
                    || manifest.collections[collection] != nil
            else { continue }
            let revision: Int
            if let known = manifest.collections[collection]?.revision {
                revision = known
            } else {
                do { revision = try store.envelope(for: collection)?.revision ?? 0 } catch StoreError.corrupt {
                    revision = 0  // unreadable: replaced like the rest
                }
            }
            emptied.append(Envelope(collection: collection, revision: revision))
        }
        // Writes that do not say whose they are, in a cache of an unknown account that held data: they may be the
        // other account's, so they are not sent under this one (export them to look at them and queue them again).
        let unstamped = writes.filter { $0.account == nil }.count
        if !emptied.isEmpty && unstamped > 0 {
            throw ServerError.writesOfUnknownAccount(count: unstamped, token: account)
        }
        try store.replaceEnvelopes(emptied) { $0.account = account }
        return account
    }
}
