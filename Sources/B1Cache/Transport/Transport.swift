import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP request to the BillingOne server, relative to its base URL.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// Path and query, e.g. `/v1/collections/invoices?since=c1`.
    public var path: String
    public var headers: [String: String]
    public var body: Data?

    public init(method: String, path: String, headers: [String: String] = [:], body: Data? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// The server's answer. Header names are lowercased.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why a request got no HTTP answer.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No connection could be made (no network, DNS, refused): nothing reached the server.
    case unreachable(reason: String)
    /// The request may have reached the server, but no complete answer came back (timeout, dropped connection).
    case noAnswer(reason: String)
    /// The answer was larger than b1cache accepts.
    case answerTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .unreachable(let reason): "the server could not be reached (\(reason))"
        case .noAnswer(let reason): "the server did not answer (\(reason))"
        case .answerTooLarge(let limit): "the server's answer was larger than \(limit / 1_000_000) MB"
        }
    }
}

/// How b1cache talks HTTP: a value wrapping a send closure (STYLE: transport as a value), so flush and sync can
/// be tested with closures and run for real on URLSession.
public struct Transport: Sendable {
    public var send: @Sendable (HTTPRequest) async throws -> HTTPResponse

    public init(send: @escaping @Sendable (HTTPRequest) async throws -> HTTPResponse) { self.send = send }

    /// The largest answer accepted (a page of a collection is a few MB; anything far beyond is hostile).
    public static let maximumAnswerBytes = 256 * 1024 * 1024

    /// The real transport: URLSession with connection reuse, a bearer token, and timeouts.
    /// - Parameters:
    ///   - baseURL: the server, e.g. `https://api.billingone.dev`.
    ///   - token: sent as `Authorization: Bearer`; never written into the cache. Nil sends no `Authorization`
    ///     (for `GET /v1/health`, which needs none).
    public static func live(baseURL: URL, token: String?, timeout: TimeInterval = 30) -> Transport {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = max(timeout * 4, 120)
        configuration.httpMaximumConnectionsPerHost = 2
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let session = URLSession(configuration: configuration)
        let base = baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        return Transport { request in
            guard let url = URL(string: base + request.path) else {
                throw TransportError.unreachable(reason: "invalid URL \(base + request.path)")
            }
            var urlRequest = URLRequest(url: url)
            urlRequest.httpMethod = request.method
            urlRequest.httpBody = request.body
            if let token { urlRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            urlRequest.setValue("application/json", forHTTPHeaderField: "Accept")
            if request.body != nil { urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type") }
            for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await session.data(for: urlRequest)
            } catch let error as URLError {
                switch error.code {
                case .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet, .dnsLookupFailed,
                     .internationalRoamingOff, .dataNotAllowed:
                    throw TransportError.unreachable(reason: error.localizedDescription)
                case .timedOut:
                    // Linux's localizedDescription is only "NSURLErrorDomain error -1001".
                    throw TransportError.noAnswer(reason: "the request timed out")
                default:
                    throw TransportError.noAnswer(reason: error.localizedDescription)
                }
            } catch {
                throw TransportError.noAnswer(reason: "\(error)")
            }
            guard let http = response as? HTTPURLResponse else {
                throw TransportError.noAnswer(reason: "not an HTTP answer")
            }
            guard data.count <= maximumAnswerBytes else { throw TransportError.answerTooLarge(limit: maximumAnswerBytes) }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            return HTTPResponse(status: http.statusCode, headers: headers, body: data)
        }
    }
}
