import Foundation

/// Why the server refused or could not be used (SPEC §10).
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 401: the token is missing, wrong or expired.
    case unauthorized
    /// The server answered with something that is not the protocol.
    case invalidAnswer(path: String, reason: String)
    /// An unexpected HTTP status.
    case status(path: String, code: Int, message: String)
    /// The token belongs to another account than the cache.
    case otherAccount(cache: Account, token: Account)
    /// Pending writes (`count` of them, the first of `writes`'s account) belong to another account than the token.
    case writesOfOtherAccount(count: Int, writes: Account, token: Account)
    /// Pending writes that do not name their account, in a cache whose account is unknown but which held data.
    case writesOfUnknownAccount(count: Int, token: Account)
    /// 410: the server no longer knows the stored cursor; a full pull is needed.
    case cursorExpired(collection: String)

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .unauthorized: "session expired: sign in again"
        case .invalidAnswer(let path, let reason): "the server's answer to \(path) is not valid: \(reason)"
        case .status(let path, let code, let message): "the server answered \(code) to \(path): \(message)"
        case .otherAccount(let cache, let token):
            "this cache belongs to \(cache), but the token is for \(token); nothing was sent or written"
        case .cursorExpired(let collection): "the server no longer knows the cursor of \(collection)"
        case .writesOfOtherAccount(let count, let writes, let token):
            "\(count) pending write\(count == 1 ? "" : "s") belong\(count == 1 ? "s" : "") to \(writes), but the token "
                + "is for \(token); nothing was sent or written"
        case .writesOfUnknownAccount(let count, let token):
            "the cache's account is not known (its manifest was lost) and \(count) pending "
                + "write\(count == 1 ? " does" : "s do") not say whose \(count == 1 ? "it is" : "they are"), so "
                + "\(count == 1 ? "it is" : "they are") not sent under \(token); nothing was sent or written"
        }
    }

    /// What to do next.
    public var hint: String {
        switch self {
        case .unauthorized: "get a new token (B1_TOKEN or --token-file) and try again"
        case .invalidAnswer, .status, .cursorExpired: "try again later; if it persists, report it with 'b1cache log'"
        case .otherAccount: "use the cache's own account, or 'b1cache sign-out' before using another account"
        case .writesOfOtherAccount:
            "flush with that account's token, or export them with 'b1cache sign-out --export-pending FILE'"
        case .writesOfUnknownAccount:
            "save them with 'b1cache sign-out --export-pending FILE', check they are this account's, then queue "
                + "them again with 'b1cache enqueue --batch FILE' and sync"
        }
    }
}

/// The requests of SPEC §10 over a `Transport`.
public struct ServerClient: Sendable {
    /// How requests are sent.
    public let transport: Transport

    /// A client over `transport` (`.live(…)` for a real server, a closure in tests).
    public init(transport: Transport) { self.transport = transport }

    /// `GET /v1/session`: who the token belongs to.
    /// - Throws: `TransportError.unavailable` for 503 and 429 — the server saying "not now" before anything was
    ///   sent, so the offline class (exit 4), with its `Retry-After`; `ServerError.unauthorized`, `.status`,
    ///   `.invalidAnswer`; `TransportError`.
    public func session() async throws -> Account {
        let path = "/v1/session"
        let response = try await transport.send(HTTPRequest(method: "GET", path: path))
        if response.status == 503 || response.status == 429 {
            throw TransportError.unavailable(
                status: response.status, message: Self.errorMessage(response),
                retryAfter: Self.retryAfter(response))
        }
        try Self.check(response, path: path)
        let body = try Self.parse(response, path: path)
        guard let orgId = body["orgId"]?.stringValue, let userId = body["userId"]?.stringValue,
            let email = body["email"]?.stringValue
        else {
            throw ServerError.invalidAnswer(path: "/v1/session", reason: "orgId, userId and email must be strings")
        }
        return Account(orgId: orgId, userId: userId, email: email)
    }

    /// `GET /v1/health`: true when the server answers `200 {"status":"ok"}`. Needs no token.
    /// - Throws: `TransportError` when no answer came.
    public func health() async throws -> Bool {
        do { try await checkHealth() } catch is ServerError { return false }
        return true
    }

    /// `GET /v1/health`, for `status`: returns when the server answered `200 {"status":"ok", …}`.
    /// - Throws: `TransportError` when no answer came; `ServerError.status` for another status;
    ///   `ServerError.invalidAnswer` when the body is not the protocol's (a captive portal's login page, say).
    public func checkHealth() async throws {
        let path = "/v1/health"
        let response = try await transport.send(HTTPRequest(method: "GET", path: path))
        guard response.status == 200 else {
            throw ServerError.status(path: path, code: response.status, message: Self.errorMessage(response))
        }
        guard (try? JSONParser.parse(response.body))?["status"]?.stringValue == "ok" else {
            throw ServerError.invalidAnswer(path: path, reason: "expected {\"status\":\"ok\"}")
        }
    }

    /// Sends a request and parses the JSON answer; 401 and non-2xx answers throw.
    func json(_ request: HTTPRequest) async throws -> JSONValue {
        let response = try await transport.send(request)
        try Self.check(response, path: request.path)
        return try Self.parse(response, path: request.path)
    }

    static func check(_ response: HTTPResponse, path: String) throws {
        if response.status == 401 { throw ServerError.unauthorized }
        guard (200..<300).contains(response.status) else {
            throw ServerError.status(path: path, code: response.status, message: errorMessage(response))
        }
    }

    static func parse(_ response: HTTPResponse, path: String) throws -> JSONValue {
        do { return try JSONParser.parse(response.body) } catch {
            throw ServerError.invalidAnswer(path: path, reason: "not JSON (\(error))")
        }
    }

    /// The `error.message` of an error answer, or its status line.
    static func errorMessage(_ response: HTTPResponse) -> String {
        if let body = try? JSONParser.parse(response.body), let error = body["error"] {
            let code = error["code"]?.stringValue ?? ""
            let message = error["message"]?.stringValue ?? ""
            return [code, message].filter { !$0.isEmpty }.joined(separator: ": ")
        }
        return HTTPURLResponseStatus.text(response.status)
    }

    /// Seconds from a `Retry-After` header: delta-seconds, or an HTTP date (RFC 9110 §10.2.3), from `now`.
    static func retryAfter(_ response: HTTPResponse, now: Date = Date()) -> TimeInterval? {
        guard let text = response.headers["retry-after"]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = TimeInterval(text) { return seconds >= 0 && seconds.isFinite ? seconds : nil }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return format.date(from: text).map { max(0, $0.timeIntervalSince(now)) }
    }
}

enum HTTPURLResponseStatus {
    static func text(_ status: Int) -> String {
        switch status {
        case 408: "request timeout"
        case 409: "conflict"
        case 422: "unprocessable"
        case 429: "too many requests"
        case 500: "internal server error"
        case 502: "bad gateway"
        case 503: "service unavailable"
        case 504: "gateway timeout"
        default: "HTTP \(status)"
        }
    }
}
