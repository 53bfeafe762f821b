import Foundation

/// What the server said about one write.
public enum WriteOutcome: Sendable, Equatable {
    /// Applied now, or earlier (a duplicate of an id the server already applied): the entities are the new state.
    case applied(collection: String?, entities: [JSONValue], duplicate: Bool)
    /// Refused for good (409, 422, other 4xx): retrying the same write cannot succeed. `current` is the state of the
    /// items it was about as the server has them now, when the server sent it (on a 404 or 409).
    case rejected(message: String, current: CurrentItems?)
    /// Could not be applied now (5xx, 429, 408, no answer): try again later, keeping order.
    case transient(message: String, retryAfter: TimeInterval?)
    /// The server stopped before this write; it was not looked at.
    case notAttempted
}

/// The server's current state of the items a rejected write was about: `entities` replace the cached items,
/// `deleted` ids no longer exist (PROTOCOL.md, "A rejection refreshes its items").
public struct CurrentItems: Sendable, Equatable {
    /// The collection the items are in.
    public var collection: String
    /// The items as the server has them now (replace by id).
    public var entities: [JSONValue]
    /// Ids of items the write was about that no longer exist.
    public var deleted: [String]

    /// The members of a rejection that carry it; nil when the server sent none.
    static func of(_ answer: JSONValue) -> CurrentItems? {
        guard let collection = answer["collection"]?.stringValue, let entities = answer["entities"]?.arrayValue else {
            return nil
        }
        return CurrentItems(
            collection: collection, entities: entities,
            deleted: answer["deleted"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}

extension ServerClient {
    /// The most writes one batch request carries (SPEC §10).
    public static let batchLimit = 100

    /// `POST /v1/writes:batch`. Returns an outcome for each write sent, by id. The server must answer for every
    /// write (SPEC §10); one it left out is a transient failure (it may or may not have been applied, so it stays
    /// queued and is sent again, which idempotency makes safe). Results for ids that were not sent, and a second
    /// result for the same id, are ignored — a write file is only ever removed for an acknowledgement of its own id.
    /// - Throws: `ServerError.unauthorized`; `.status(code: 404|405)` when the server has no batch endpoint.
    public func sendBatch(_ writes: [PendingWrite]) async throws -> [String: WriteOutcome] {
        let path = "/v1/writes:batch"
        let body = JSONWriter.compactString(["writes": .array(writes.map(\.json))])
        let response = try await transport.send(HTTPRequest(method: "POST", path: path, body: Data(body.utf8)))
        if let whole = try Self.transientOrThrow(response, path: path) {
            // Not uniqueKeysWithValues: two writes with one id would trap (the queue refuses them; never crash).
            return Dictionary(writes.map { ($0.id, whole) }, uniquingKeysWith: { first, _ in first })
        }
        guard (200..<300).contains(response.status) else {
            if response.status == 404 || response.status == 405 {
                throw ServerError.status(path: path, code: response.status, message: "no batch endpoint")
            }
            // The batch as a whole was refused: the protocol was not followed; stop and keep every write.
            let message = "\(response.status) \(Self.errorMessage(response))"
            return Dictionary(
                writes.map { ($0.id, .transient(message: message, retryAfter: nil)) },
                uniquingKeysWith: { first, _ in first })
        }
        guard let results = try Self.parse(response, path: path)["results"]?.arrayValue else {
            throw ServerError.invalidAnswer(path: path, reason: "'results' must be an array")
        }
        let sent = Set(writes.map(\.id))
        var outcomes: [String: WriteOutcome] = [:]
        for result in results {
            guard let id = result["id"]?.stringValue, sent.contains(id), outcomes[id] == nil else { continue }
            outcomes[id] = Self.outcome(ofResult: result)
        }
        for write in writes where outcomes[write.id] == nil {
            outcomes[write.id] = .transient(
                message: "the server's answer to \(path) has no result for this write",
                retryAfter: nil)
        }
        return outcomes
    }

    /// `POST /v1/writes` with the id as `Idempotency-Key`: for one write, or a server without batches.
    public func sendOne(_ write: PendingWrite) async throws -> WriteOutcome {
        let path = "/v1/writes"
        let response = try await transport.send(
            HTTPRequest(
                method: "POST", path: path, headers: ["Idempotency-Key": write.id],
                body: Data(JSONWriter.compactString(write.json).utf8)))
        if let transient = try Self.transientOrThrow(response, path: path) { return transient }
        guard (200..<300).contains(response.status) else {
            let answer = try? JSONParser.parse(response.body)  // a rejection without a JSON body is still a rejection
            return .rejected(
                message: "\(response.status) \(Self.errorMessage(response))",
                current: answer.flatMap(CurrentItems.of))
        }
        let body = try Self.parse(response, path: path)
        guard body["id"]?.stringValue == write.id else {
            throw ServerError.invalidAnswer(path: path, reason: "the answer is not about write \(write.id)")
        }
        return Self.outcome(ofResult: body)
    }

    /// 401 throws; 408, 429 and 5xx are transient for the whole request; nil otherwise.
    static func transientOrThrow(_ response: HTTPResponse, path: String) throws -> WriteOutcome? {
        if response.status == 401 { throw ServerError.unauthorized }
        if response.status == 408 || response.status == 429 || response.status >= 500 {
            return .transient(message: "\(response.status) \(errorMessage(response))", retryAfter: retryAfter(response))
        }
        return nil
    }

    static func outcome(ofResult result: JSONValue) -> WriteOutcome {
        let status = result["status"]?.stringValue ?? ""
        switch status {
        case "applied", "duplicate":
            return .applied(
                collection: result["collection"]?.stringValue, entities: result["entities"]?.arrayValue ?? [],
                duplicate: status == "duplicate")
        case "rejected":
            let error = result["error"]
            let code = error?["httpStatus"]?.intValue.map(String.init) ?? "rejected"
            let message = [error?["code"]?.stringValue, error?["message"]?.stringValue].compactMap { $0 }.joined(
                separator: ": ")
            return .rejected(message: "\(code) \(message)", current: CurrentItems.of(result))
        case "failed":
            let error = result["error"]
            let message = [
                error?["httpStatus"]?.intValue.map(String.init), error?["code"]?.stringValue,
                error?["message"]?.stringValue,
            ].compactMap { $0 }.joined(separator: " ")
            // A batch result's own retryAfter is honoured as a Retry-After header would be.
            let retryAfter = error?["retryAfter"]?.doubleValue.flatMap { $0 >= 0 && $0 <= 86_400 ? $0 : nil }
            return .transient(message: message.isEmpty ? "failed" : message, retryAfter: retryAfter)
        case "not-attempted":
            return .notAttempted
        default:
            return .transient(message: "the server gave status '\(status)'", retryAfter: nil)
        }
    }
}
