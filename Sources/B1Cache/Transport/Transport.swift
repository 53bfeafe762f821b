import Foundation

/// An HTTP request to the BillingOne server, relative to its base URL.
public struct HTTPRequest: Sendable, Equatable {
    /// `GET` or `POST`.
    public var method: String
    /// Path and query, e.g. `/v1/collections/invoices?since=c1`.
    public var path: String
    /// Extra headers (the transport adds `Authorization`).
    public var headers: [String: String]
    /// The request body, for a `POST`.
    public var body: Data?

    /// A request to `path` on the server.
    public init(method: String, path: String, headers: [String: String] = [:], body: Data? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// The server's answer. Header names are lowercased.
public struct HTTPResponse: Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// Headers, names lowercased.
    public var headers: [String: String]
    /// The body (at most `Transport.maximumAnswerBytes`).
    public var body: Data

    /// An answer (tests build them; the live transport fills them).
    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why a request got no usable HTTP answer.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No connection could be made (no network, DNS, refused): nothing reached the server.
    case unreachable(reason: String)
    /// The request may have reached the server, but no complete answer came back (timeout, dropped connection).
    case noAnswer(reason: String)
    /// The server said it cannot serve now (503, 429), before doing anything: the offline class, as a retry later
    /// can succeed. `retryAfter` is its `Retry-After`, in seconds.
    case unavailable(status: Int, message: String, retryAfter: TimeInterval?)
    /// The answer was larger than b1cache accepts (`Transport.maximumAnswerBytes`); the server was reached, so this
    /// is not being offline.
    case answerTooLarge(limit: Int)
    /// TLS: the server's certificate was not trusted (an unknown CA, a wrong name, expired). A setup problem, not
    /// being offline: waiting does not fix it.
    case certificateNotTrusted(reason: String)
    /// TLS could not be set up (`https://` to a plain-HTTP port, no common cipher, an unusable CA file).
    case secureConnectionFailed(reason: String)
    /// The server URL cannot be used (an unsupported scheme, a malformed URL).
    case invalidURL(reason: String)

    /// True when the server could not be reached, stopped answering or asked to come back later: nothing is wrong
    /// with the server's data or with the setup, and the same command can succeed later.
    public var isOffline: Bool {
        switch self {
        case .unreachable, .noAnswer, .unavailable: true
        case .answerTooLarge, .certificateNotTrusted, .secureConnectionFailed, .invalidURL: false
        }
    }

    /// True for a problem of the setup (the URL, TLS, the CA file): exit 2, not 4.
    public var isSetupProblem: Bool {
        switch self {
        case .certificateNotTrusted, .secureConnectionFailed, .invalidURL: true
        default: false
        }
    }

    /// The sentence for the CLI's `b1cache: error:` line.
    public var description: String {
        switch self {
        case .unreachable(let reason): "the server could not be reached (\(reason))"
        case .noAnswer(let reason): "the server did not answer (\(reason))"
        case .unavailable(let status, let message, let retryAfter):
            "the server is unavailable (\(status) \(message))"
                + (retryAfter.map { "; it asks to wait \(Self.duration($0)) before trying again" } ?? "")
        case .answerTooLarge(let limit):
            "the server's answer was larger than \(limit / (1024 * 1024)) MB, the most b1cache accepts; it was abandoned"
        case .certificateNotTrusted(let reason): "the server's TLS certificate is not trusted (\(reason))"
        case .secureConnectionFailed(let reason): "no secure (TLS) connection could be made (\(reason))"
        case .invalidURL(let reason): "the server URL cannot be used (\(reason))"
        }
    }

    /// What to do next.
    public var hint: String {
        switch self {
        case .unreachable, .noAnswer: "check the network and --server, then try again"
        case .unavailable(_, _, let retryAfter):
            "nothing was sent; try again " + (retryAfter.map { "in \(Self.duration($0))" } ?? "later")
        case .answerTooLarge: "the server does not follow the protocol; try again later, and report it if it persists"
        case .certificateNotTrusted:
            "if the server uses a private CA, pass its certificate with --ca-file FILE or B1_CA_FILE (PEM); "
                + "check the host name in --server/B1_SERVER_URL and the clock"
        case .secureConnectionFailed:
            "check that --server/B1_SERVER_URL says https:// only for a server that speaks TLS on that port, "
                + "and that --ca-file/B1_CA_FILE is a PEM file of certificates"
        case .invalidURL: "pass an http:// or https:// URL with --server or B1_SERVER_URL"
        }
    }

    static func duration(_ seconds: TimeInterval) -> String {
        seconds < 120 ? "\(Int(seconds.rounded(.up))) s" : "\(Int((seconds / 60).rounded(.up))) min"
    }
}

/// How b1cache talks HTTP: a value wrapping a send closure (STYLE: transport as a value), so flush and sync can
/// be tested with closures and run for real on URLSession (`Transport.live`, in Transport+Live.swift).
public struct Transport: Sendable {
    /// Sends one request and returns its answer; throws `TransportError` when no answer came.
    public var send: @Sendable (HTTPRequest) async throws -> HTTPResponse

    /// A transport from a closure (tests; `live` for a real server).
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
