import B1Cache
import Foundation
import Synchronization
import Testing

/// The flush logic alone, on a closure `Transport` (no server, no process): order, the backoff hold, batch
/// splitting, a rejection in mid-batch, 401 and a broken answer. The end-to-end suites cover the same with the
/// reference server and the binary.
@Suite(.perTestTimeLimit) final class FlusherTests {
    let folder = TemporaryFolder()
    lazy var paths = CachePaths(
        root: (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache"))
    lazy var queue = WriteQueue(paths: paths)

    /// What the fake server answers for one write: applied, rejected (409), or a transient failure (503).
    enum Answer: Sendable { case apply, reject, fail }

    /// A server in a closure: answers the session with the sample's account and each batch by `answer(id)`,
    /// stopping at a transient failure as the protocol says; records the ids of every batch request.
    final class FakeServer: Sendable {
        let batches = Mutex<[[String]]>([])
        let answer: @Sendable (String) -> Answer
        let sessionStatus: Int
        let brokenBatches: Bool

        init(
            sessionStatus: Int = 200, brokenBatches: Bool = false,
            answer: @escaping @Sendable (String) -> Answer = { _ in .apply }
        ) {
            self.answer = answer
            self.sessionStatus = sessionStatus
            self.brokenBatches = brokenBatches
        }

        var transport: Transport {
            Transport { [self] request in try handle(request) }
        }

        func handle(_ request: HTTPRequest) throws -> HTTPResponse {
            if request.path == "/v1/session" {
                let body =
                    #"{"orgId":"org_7f3k2m9q","userId":"usr_4h8d1x","email":"dana.whitfield@northwind-msp.co.nz"}"#
                return HTTPResponse(status: sessionStatus, body: Data(body.utf8))
            }
            let body = try JSONParser.parse(request.body ?? Data())
            // One write goes to POST /v1/writes, more to the batch endpoint (SPEC §10); both are answered alike here.
            let single = request.path == "/v1/writes"
            let ids =
                single
                ? [body["id"]?.stringValue ?? ""]
                : (body["writes"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
            batches.withLock { $0.append(ids) }
            if brokenBatches { return HTTPResponse(status: 200, body: Data("<html>".utf8)) }
            var results: [JSONValue] = []
            var stopped = false
            for id in ids {
                if stopped {
                    results.append(["id": .string(id), "status": "not-attempted"])
                    continue
                }
                switch answer(id) {
                case .apply:
                    results.append([
                        "id": .string(id), "status": "applied", "collection": "missed-billing", "entities": [],
                    ])
                case .reject:
                    results.append([
                        "id": .string(id), "status": "rejected",
                        "error": ["code": "conflict", "message": "no longer a draft", "httpStatus": 409],
                    ])
                case .fail:
                    results.append([
                        "id": .string(id), "status": "failed",
                        "error": ["code": "unavailable", "message": "later", "httpStatus": 503, "retryAfter": 60],
                    ])
                    stopped = true
                }
            }
            if single, let result = results.first {
                switch result["status"]?.stringValue {
                case "rejected":
                    return HTTPResponse(
                        status: 409, body: Data(JSONWriter.compactString(["error": result["error"] ?? .null]).utf8))
                case "failed": return HTTPResponse(status: 503, headers: ["retry-after": "60"])
                default: return HTTPResponse(status: 200, body: Data(JSONWriter.compactString(result).utf8))
                }
            }
            return HTTPResponse(status: 200, body: Data(JSONWriter.compactString(["results": .array(results)]).utf8))
        }
    }

    /// Five pending writes (the sample's three plus two), in queue order.
    func fiveWrites() throws -> [String] {
        let enqueuer = Enqueuer(paths: paths)
        for item in ["mb_cx13tw6c2p", "mb_6300ys2s9e"] {
            _ = try enqueuer.enqueue(
                WriteRequest(
                    kind: "missed-billing.action",
                    payload: ["itemId": .string(item), "action": "mark-reviewed"]))
        }
        return try queue.readablePending().map(\.id)
    }

    func flush(_ server: FakeServer, batchSize: Int = 100, ignoreBackoff: Bool = true) async throws -> FlushReport {
        var options = FlushOptions(ignoreBackoff: ignoreBackoff)
        options.batchSize = batchSize
        return try await Flusher(paths: paths, client: ServerClient(transport: server.transport), options: options)
            .run()
    }

    @Test func writesGoInQueueOrderSplitIntoBatches() async throws {
        let ids = try fiveWrites()
        let server = FakeServer()
        let report = try await flush(server, batchSize: 2)
        #expect(server.batches.withLock { $0 } == [[ids[0], ids[1]], [ids[2], ids[3]], [ids[4]]])
        #expect(report.applied == ids)
        #expect(report.isComplete)
        #expect(try queue.readablePending().isEmpty)
    }

    @Test func aRejectionInMidBatchMovesThatWriteAndTheRestStillGo() async throws {
        let ids = try fiveWrites()
        let rejected = ids[1]
        let server = FakeServer { $0 == rejected ? .reject : .apply }
        let report = try await flush(server)
        #expect(report.movedToFailed == [rejected])
        #expect(report.applied == ids.filter { $0 != rejected })
        #expect(
            try queue.list(.failed).compactMap(\.write).contains {
                $0.id == rejected && $0.lastError?.contains("409") == true
            })
    }

    @Test func aTransientFailureStopsTheFlushAndHoldsBackEveryLaterWrite() async throws {
        let ids = try fiveWrites()
        let failing = ids[2]
        let server = FakeServer { $0 == failing ? .fail : .apply }
        let report = try await flush(server)
        #expect(report.applied == [ids[0], ids[1]])
        #expect(report.stoppedAt?.id == failing)
        #expect(try queue.readablePending().map(\.id) == Array(ids[2...]))
        let waiting = try #require(try queue.readablePending().first)
        #expect(waiting.attempts == 1)
        #expect((waiting.nextAttemptAt?.timeIntervalSinceNow ?? 0) > 50)  // the result's retryAfter: 60 honoured
        // Without --ignore-backoff the next flush sends nothing: the waiting write holds back the rest.
        let next = FakeServer()
        let held = try await flush(next, ignoreBackoff: false)
        #expect(next.batches.withLock { $0 }.isEmpty)
        #expect(held.stoppedAt?.id == failing)
        #expect(held.remaining == 3)
    }

    @Test func a401StopsEverythingAndMarksNothing() async throws {
        let before = try snapshotFiles(under: paths.root)
        await #expect(throws: ServerError.unauthorized) { try await self.flush(FakeServer(sessionStatus: 401)) }
        #expect(try snapshotFiles(under: paths.root) == before)
    }

    @Test func aBrokenAnswerKeepsEveryWriteQueued() async throws {
        let ids = try queue.readablePending().map(\.id)
        let report = try await flush(FakeServer(brokenBatches: true))
        #expect(report.applied.isEmpty)
        #expect(report.stoppedByFailure)
        #expect(try queue.readablePending().map(\.id) == ids)
    }

    @Test func thePlanHoldsBackBehindABackoffAndCutsAtMax() throws {
        var listed = try queue.list(.pending)
        #expect(listed.count == 3)
        listed[1].write?.nextAttemptAt = Date().addingTimeInterval(600)
        let plan = FlushPlan(listed, options: FlushOptions())
        #expect(plan.writes.map(\.write.id) == [listed[0].write?.id])
        #expect(plan.heldBack?.write.id == listed[1].write?.id)
        var options = FlushOptions(maximumWrites: 2, ignoreBackoff: true)
        options.batchSize = 1
        let cut = FlushPlan(listed, options: options)
        #expect(cut.heldBack == nil)
        #expect(
            cut.batches.map { $0.map(\.id) }
                == [[listed[0].write?.id], [listed[1].write?.id]].map { $0.compactMap { $0 } })
    }
}
