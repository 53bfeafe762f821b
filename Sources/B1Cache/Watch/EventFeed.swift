import Foundation
import Synchronization

/// The change feed, `GET /v1/events` (docs/PROTOCOL.md), kept open by a task of its own, which posts what it hears
/// into the watcher's inbox: the stream opening (the loop then pulls every collection once), each poke, the stream
/// lost (reconnected after a backoff with full jitter, reset by each stream that opened), a server without a feed
/// (404), a 401. No `since` is sent: the stream announces every change after its headers, and the pull made when it
/// opens covers everything before, so nothing needs to be remembered between streams.
final class EventFeed: Sendable {
    private let task: Task<Void, Never>

    init(
        transport: StreamTransport, maximumBackoff: TimeInterval,
        post: AsyncStream<WatchLoop.Message>.Continuation
    ) {
        task = Task {
            var backoff = ReconnectBackoff(cap: maximumBackoff)
            while !Task.isCancelled {
                let outcome = await Self.listen(transport, post: post)
                if Task.isCancelled { return }
                var delay: TimeInterval
                switch outcome {
                case .missing:
                    post.yield(.feedMissing)
                    return
                case .unauthorized:
                    post.yield(.feedUnauthorized)
                    return
                case .lost(let reason, let opened, let retryAfter):
                    if opened { backoff.reset() }
                    delay = max(backoff.next(), retryAfter ?? 0)
                    post.yield(.feedLost(reason: reason, retryIn: delay))
                }
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }

    func stop() { task.cancel() }

    enum Outcome: Sendable {
        case missing
        case unauthorized
        case lost(reason: String, opened: Bool, retryAfter: TimeInterval?)
    }

    /// When the stream last showed life, and the heartbeat interval it announced.
    private final class Liveness: Sendable {
        struct Value {
            var lastByte = Date()
            var heartbeat: TimeInterval = 15
            /// The answer's head has arrived: `heartbeat` is the server's, not the default.
            var headArrived = false
        }

        let value = Mutex(Value())
    }

    /// One stream, from the request to its end. A watchdog beside the reader ends a stream silent for twice its
    /// heartbeat (the connection may look open while the server or a middlebox has gone). It sleeps until that
    /// deadline, not in ticks: on a quiet stream it wakes once per heartbeat (until the head has come, once a
    /// second, since the server's heartbeat is not known yet).
    private static func listen(
        _ transport: StreamTransport,
        post: AsyncStream<WatchLoop.Message>.Continuation
    ) async -> Outcome {
        let liveness = Liveness()
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await read(transport, liveness: liveness, post: post) }
            group.addTask {
                while !Task.isCancelled {
                    let (last, heartbeat, known) = liveness.value.withLock {
                        ($0.lastByte, $0.heartbeat, $0.headArrived)
                    }
                    let left = last.addingTimeInterval(2 * heartbeat).timeIntervalSinceNow
                    if left < 0 {
                        return .lost(
                            reason: "nothing arrived for \(Int((2 * heartbeat).rounded())) s, twice the "
                                + "heartbeat", opened: true, retryAfter: nil)
                    }
                    try? await Task.sleep(nanoseconds: UInt64((known ? left : min(left, 1)) * 1e9) + 1_000_000)
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .lost(reason: "stopped", opened: false, retryAfter: nil)
        }
    }

    private static func read(
        _ transport: StreamTransport, liveness: Liveness,
        post: AsyncStream<WatchLoop.Message>.Continuation
    ) async -> Outcome {
        var parser = ServerSentEventParser()
        var opened = false
        var status = 0
        var headers: [String: String] = [:]
        do {
            for try await part in transport.open(HTTPRequest(method: "GET", path: "/v1/events")) {
                liveness.value.withLock { $0.lastByte = Date() }
                switch part {
                case .head(let code, let fields):
                    status = code
                    headers = fields
                    if code == 404 { return .missing }
                    if code == 401 { return .unauthorized }
                    guard code == 200 else { continue }  // the error body follows; the stream's end reports it
                    opened = true
                    let announced = fields["b1-heartbeat-seconds"].flatMap(TimeInterval.init)
                    liveness.value.withLock {
                        $0.headArrived = true
                        if let announced, announced > 0, announced.isFinite { $0.heartbeat = max(announced, 0.05) }
                    }
                    post.yield(.feedOpened)
                case .bytes(let data):
                    guard opened else { continue }
                    for event in parser.feed(data) {
                        if let poke = ChangePoke(event) { post.yield(.poke(poke)) }
                    }
                }
            }
        } catch {
            return .lost(reason: "\(error)", opened: opened, retryAfter: nil)
        }
        if !opened {
            let retryAfter = ServerClient.retryAfter(HTTPResponse(status: status, headers: headers))
            return .lost(reason: "the server answered \(status) to /v1/events", opened: false, retryAfter: retryAfter)
        }
        return .lost(reason: "the server closed the stream", opened: true, retryAfter: nil)
    }
}
