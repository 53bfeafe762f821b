import Foundation

/// The watcher's one loop: every message (a tick of the clock, a poke of the feed, the feed opening or failing)
/// goes through one inbox and is handled in turn, so flushes and pulls never overlap and no state is shared.
///
/// - Important: @unchecked Sendable: used only by the watcher's worker task (and read by `Watcher.run` once that task
///   has ended). The feed's task only posts messages into the inbox.
final class WatchLoop: @unchecked Sendable {
    enum Message: Sendable {
        case tick
        case feedOpened
        case poke(ChangePoke)
        case feedLost(reason: String, retryIn: TimeInterval)
        case feedMissing
        case feedUnauthorized
    }

    private let cache: Cache
    private let options: WatchOptions
    private let report: @Sendable (WatchEvent) -> Void
    private let inbox: AsyncStream<Message>
    private let post: AsyncStream<Message>.Continuation

    private var token: String?
    private var tokenStamp: Date?
    private var client: ServerClient?
    private var online = false
    private var probeBackoff: ReconnectBackoff
    private var nextProbeAt = Date.distantPast
    /// The modification time of `queue/` when the queue was last read for a flush.
    private var queueStamp: Date?
    /// A write waits for its backoff until then: flush again at that time.
    private var nextFlushAt: Date?
    private var feed: EventFeed?
    /// One tick posted at the moment the next probe or held-back write is due, so such a wait is not rounded up to
    /// the clock's next tick (up to `checkInterval` late: on average half a second added to every reconnection).
    private var wakeUp: Task<Void, Never>?
    private var nextPollAt: Date?
    /// The last pull's measure was over the budget (so the next one over says nothing new).
    private var overBudget = false
    private var state: WatchState
    private var written: WatchState

    var currentState: WatchState { state }

    init(cache: Cache, options: WatchOptions, state: WatchState, report: @escaping @Sendable (WatchEvent) -> Void) {
        self.cache = cache
        self.options = options
        self.state = state
        written = state
        self.report = report
        probeBackoff = ReconnectBackoff(cap: options.maximumBackoff)
        (inbox, post) = AsyncStream.makeStream(of: Message.self, bufferingPolicy: .unbounded)
    }

    func run() async throws {
        try loadToken()
        // One stat of queue/ a second, not inotify/kqueue: it costs microseconds, sees renames made by any process
        // (also on a network file system, where inotify sees only this host's changes), needs no descriptor kept
        // open and no more libc, and a second is the latency promised ("within about a second"). The clock takes
        // those stats itself and wakes the loop only when they changed or the loop needs every tick (WatchClock).
        let clock = WatchClock(interval: options.checkInterval, paths: cache.paths, token: options.token, post: post)
        defer {
            clock.stop()
            wakeUp?.cancel()
            feed?.stop()
            post.finish()
        }
        for await message in inbox {
            try Task.checkCancellation()
            try await handle(message)
            try Task.checkCancellation()
            if state != written {
                try? state.write(cache.paths)  // the file only informs: a full disk must not stop the watcher
                written = state
            }
            // Online and idle, a tick matters only when the queue, watch.json or the token file changed.
            clock.needEveryTick(!online || state.sessionExpired || nextFlushAt != nil || nextPollAt != nil)
        }
        try Task.checkCancellation()
    }

    private func handle(_ message: Message) async throws {
        switch message {
        case .tick: try await tick()
        case .feedOpened:
            guard online else { return }
            state.feed = "stream"
            emit(.feedOpened)
            try await pull(CollectionName.allCases)  // what changed while no stream was open
        case .poke(let poke):
            guard online else { return }
            try await pull([poke.collection])
        case .feedLost(let reason, let retryIn):
            guard online else { return }
            emit(.feedLost(reason: reason, retryIn: retryIn))
            try await probe()  // a lost stream is often a lost server: find out now, not at the next write
        case .feedMissing:
            guard online else { return }
            feed = nil
            state.feed = "poll"
            emit(.polling(every: options.pollInterval))
            nextPollAt = Date().addingTimeInterval(options.pollInterval)
            try await pull(CollectionName.allCases)
        case .feedUnauthorized:
            guard online else { return }
            expired()
        }
    }

    private func tick() async throws {
        let now = Date()
        // watch.json goes with the folder: gone means a sign-out, a restore or a deletion (a stat, like the queue's).
        guard (try? System.status(cache.paths.watchState.path)) != nil else {
            throw WatchError.cacheRemoved(path: cache.paths.root.path)
        }
        if try tokenChanged() {
            emit(.tokenChanged)
            state.sessionExpired = false
            goOfflineQuietly()
            nextProbeAt = now
        }
        if state.sessionExpired { return }
        guard online else {
            if now >= nextProbeAt { try await probe() }
            return
        }
        if queueStamp != Self.queueStamp(cache.paths) || nextFlushAt.map({ now >= $0 }) == true {
            try await flushAndPull()
        }
        if let due = nextPollAt, now >= due, online {
            nextPollAt = now.addingTimeInterval(options.pollInterval)
            try await pull(CollectionName.allCases)
        }
    }

    // MARK: Connectivity

    /// `GET /v1/health`; on an answer, online (flush at once, open the feed), else the next probe after a backoff.
    private func probe() async throws {
        guard let client else { return }
        do {
            try await client.checkHealth()
        } catch let error as TransportError where error.isSetupProblem {
            throw error
        } catch {
            goOffline("\(error)")
            return
        }
        guard !online else { return }
        online = true
        probeBackoff.reset()
        state.online = true
        state.backoffUntil = nil
        emit(.online)
        try await flushAndPull()
        guard online else { return }
        feed = EventFeed(transport: makeStream(), maximumBackoff: options.maximumBackoff, post: post)
    }

    private func goOffline(_ reason: String) {
        goOfflineQuietly()
        let delay = probeBackoff.next()
        nextProbeAt = Date().addingTimeInterval(delay)
        state.backoffUntil = nextProbeAt
        wake(at: nextProbeAt)
        emit(.offline(reason: reason, retryIn: delay))
    }

    /// Posts a tick at `date` (replacing the one asked for before; the clock's own ticks still come each second).
    private func wake(at date: Date) {
        wakeUp?.cancel()
        let post = self.post
        // 2 ms late rather than early: the tick compares Date() with `date`, and Task.sleep keeps another clock.
        let delay = max(0, date.timeIntervalSinceNow) + 0.002
        wakeUp = Task {
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            if !Task.isCancelled { post.yield(.tick) }
        }
    }

    private func goOfflineQuietly() {
        online = false
        state.online = false
        state.feed = nil
        feed?.stop()
        feed = nil
        nextPollAt = nil
    }

    /// 401: keep every write, send nothing, wait for a new token (`tick` looks at the file).
    private func expired() {
        goOfflineQuietly()
        state.sessionExpired = true
        state.backoffUntil = nil
        if case .file = options.token {
            emit(.sessionExpired(resumable: true))
        } else {
            emit(.sessionExpired(resumable: false))
        }
    }

    // MARK: Flush and pull

    /// Flushes what is due, then pulls the collections those writes touched, in one `Cache.sync` (one lock).
    private func flushAndPull() async throws {
        queueStamp = Self.queueStamp(cache.paths)  // before reading: a write enqueued from now on is seen next tick
        let plan = try cache.flushPlan()
        if let held = plan.heldBack {
            if nextFlushAt != held.until {
                emit(.heldBack(id: held.write.id, until: held.until))
                wake(at: held.until)
            }
            nextFlushAt = held.until
        } else {
            nextFlushAt = nil
        }
        var touched: [CollectionName] = []
        for item in plan.writes where !touched.contains(item.write.kind.collection) {
            touched.append(item.write.kind.collection)
        }
        guard !touched.isEmpty else { return }
        var syncOptions = SyncOptions()
        syncOptions.collections = touched.sorted()
        guard let result = try await sync(syncOptions) else { return }
        if let flush = result.flush {
            if !flush.applied.isEmpty || !flush.duplicates.isEmpty || !flush.movedToFailed.isEmpty {
                state.lastFlushAt = Date()
                emit(.flushed(flush))
            }
            if flush.stoppedByFailure, let stop = flush.stoppedAt {
                goOffline(stop.reason)
                return
            }
            if let held = try cache.flushPlan().heldBack { nextFlushAt = held.until }
        }
        handlePulls(result)
    }

    /// Incremental pulls of `collections` (no flush first: flushes are this loop's own business).
    private func pull(_ collections: [CollectionName]) async throws {
        var syncOptions = SyncOptions()
        syncOptions.collections = collections
        syncOptions.flushFirst = false
        guard let result = try await sync(syncOptions) else { return }
        handlePulls(result)
    }

    private func handlePulls(_ result: SyncReport) {
        var offlineReason: String?
        for pulled in result.collections {
            if let error = pulled.error {
                if pulled.offline {
                    offlineReason = offlineReason ?? error
                } else {
                    emit(.pullFailed(pulled.collection, reason: error))
                }
            } else if pulled.received > 0 || pulled.removed > 0 {
                emit(.pulled(pulled.collection, changed: pulled.received, removed: pulled.removed))
            }
        }
        if let offlineReason { goOffline(offlineReason) }
        if let use = result.storage {
            if use.isOverBudget && !overBudget { emit(.overBudget(use)) }
            overBudget = use.isOverBudget
        }
    }

    /// `Cache.sync`, waiting for the lock as long as another process holds it. Being offline, a 401 and a server that
    /// answers the session badly are states of the loop, not failures of the watcher.
    /// - Returns: nil when the loop changed state instead.
    /// - Throws: another account's token, setup problems, the cache's own problems (what no waiting fixes).
    private func sync(_ syncOptions: SyncOptions) async throws -> SyncReport? {
        guard let client else { return nil }
        do {
            return try await cache.sync(client: client, options: syncOptions, busy: .wait, budget: options.budget)
        } catch let error as FlushError {
            goOffline(error.description)
        } catch let error as TransportError where !error.isSetupProblem {
            goOffline(error.description)
        } catch ServerError.unauthorized {
            expired()
        } catch let error as ServerError {
            switch error {
            case .otherAccount, .writesOfOtherAccount, .writesOfUnknownAccount: throw error
            default: goOffline(error.description)
            }
        }
        return nil
    }

    // MARK: The token

    private func loadToken() throws {
        switch options.token {
        case .fixed(let text): token = text
        case .file(let url):
            tokenStamp = Self.tokenModified(url)
            token = Self.readToken(url)
        }
        rebuildClient()
    }

    /// True when the token file holds a new token (looked at only when its modification time moved).
    private func tokenChanged() throws -> Bool {
        guard case .file(let url) = options.token else { return false }
        // While the session is expired the file is read every tick (a few bytes): a new token written within the
        // same clock tick as the old one would not move the modification time.
        let stamp = Self.tokenModified(url)
        guard stamp != tokenStamp || state.sessionExpired else { return false }
        tokenStamp = stamp
        guard let text = Self.readToken(url), text != token else { return false }
        token = text
        rebuildClient()
        return true
    }

    private func rebuildClient() {
        client = token.map {
            ServerClient(
                transport: .live(
                    baseURL: options.server, token: $0, timeout: options.timeout,
                    caFile: options.caFile))
        }
    }

    private func makeStream() -> StreamTransport {
        StreamTransport.live(baseURL: options.server, token: token, timeout: options.timeout, caFile: options.caFile)
    }

    /// The token file may be a link (a secret mounted by a service manager), so it is read as `--token-file` is.
    static func readToken(_ url: URL) -> String? {
        guard let data = try? Data(contentsOf: url), data.count <= 64 * 1024 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    static func modified(_ url: URL) -> Date? { (try? System.status(url.path))??.modified }

    static func tokenModified(_ url: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
    }

    /// `queue/`'s modification time: an enqueue renames a file into it, a flush removes one, so it moves with
    /// every change of the queue (nanoseconds on Linux file systems).
    static func queueStamp(_ paths: CachePaths) -> Date? { modified(paths.queue) }

    private func emit(_ event: WatchEvent) {
        state.lastEventAt = Date()
        report(event)
    }
}
