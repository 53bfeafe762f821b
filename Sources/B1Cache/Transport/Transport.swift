import Foundation

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
    /// The answer was larger than b1cache accepts (`Transport.maximumAnswerBytes`); the server was reached, so this
    /// is not being offline.
    case answerTooLarge(limit: Int)

    /// True when the server could not be reached or stopped answering: nothing is wrong with the server's data.
    public var isOffline: Bool {
        switch self {
        case .unreachable, .noAnswer: true
        case .answerTooLarge: false
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let reason): "the server could not be reached (\(reason))"
        case .noAnswer(let reason): "the server did not answer (\(reason))"
        case .answerTooLarge(let limit):
            "the server's answer was larger than \(limit / (1024 * 1024)) MB, the most b1cache accepts; it was abandoned"
        }
    }
}

/// How b1cache talks HTTP: a value wrapping a send closure (STYLE: transport as a value), so flush and sync can
/// be tested with closures and run for real on URLSession (`Transport.live`, in Transport+Live.swift).
public struct Transport: Sendable {
    public var send: @Sendable (HTTPRequest) async throws -> HTTPResponse

    public init(send: @escaping @Sendable (HTTPRequest) async throws -> HTTPResponse) { self.send = send }

    /// The largest answer accepted, in bytes (64 MB).
    ///
    /// The largest answer the protocol can legitimately produce is a batch of 100 writes (SPEC §10) that are each a
    /// `missed-billing.apply` of 500 items (SPEC §5): 50,000 items of about 0.6 KB of JSON, about 30 MB. A page of a
    /// collection is at most 5,000 items, 3 to 7 MB. The limit leaves twice the larger of the two; anything bigger
    /// is not this protocol. The live transport enforces it while the answer arrives (a declared `Content-Length`
    /// over the limit is refused at its first bytes, an undeclared one as soon as the count passes it), so a broken
    /// or hostile server costs at most this much memory, not the size of what it sends.
    public static let maximumAnswerBytes = 64 * 1024 * 1024
}
