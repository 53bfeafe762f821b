import Foundation
// B1CACHE_NO_URLSESSION (the static release build on Linux, see the Makefile) leaves FoundationNetworking out: its
// static link needs libcurl's development files, and on Linux the transport is libcurl itself, loaded at run time.
#if canImport(FoundationNetworking) && !B1CACHE_NO_URLSESSION
    import FoundationNetworking
#endif
import Synchronization

extension Transport {
    /// The real transport: URLSession with connection reuse, a bearer token, timeouts, and a size limit enforced
    /// while the answer arrives.
    ///
    /// - An answer larger than `maximumAnswerBytes` is abandoned as soon as that is known (its `Content-Length`, or
    ///   the count of bytes received), so it never costs more memory than the limit:
    ///   `TransportError.answerTooLarge`.
    /// - `timeout` is how long the connection may stay silent, also in the middle of an answer, so a server that
    ///   sends part of a body and stops ends the request after `timeout`: `TransportError.noAnswer`.
    /// - The token is cut out of every answer (`[token removed]`), so a server that quotes the request back in an
    ///   error message cannot make b1cache write the token into a write's `lastError`, `history.jsonl` or an
    ///   envelope (SPEC §10: the token is never written into the cache).
    /// - Parameters:
    ///   - baseURL: the server, e.g. `https://api.billingone.dev`.
    ///   - token: sent as `Authorization: Bearer`; never written into the cache. Nil sends no `Authorization`
    ///     (for `GET /v1/health`, which needs none).
    ///   - timeout: seconds of silence after which a request is given up (`--timeout`).
    ///   - maximumAnswerBytes: the size limit (`Transport.maximumAnswerBytes`).
    ///   - caFile: a PEM file of the CAs to trust instead of the system's; only where `supportsCAFile`.
    public static func live(
        baseURL: URL, token: String?, timeout: TimeInterval = 30,
        maximumAnswerBytes: Int = Transport.maximumAnswerBytes,
        caFile: String? = nil
    ) -> Transport {
        if let curl = Curl.shared {
            return .curl(
                curl, baseURL: baseURL, token: token, timeout: timeout, maximumAnswerBytes: maximumAnswerBytes,
                caFile: caFile)
        }
        #if canImport(Darwin) || !B1CACHE_NO_URLSESSION
            return urlSession(baseURL: baseURL, token: token, timeout: timeout, maximumAnswerBytes: maximumAnswerBytes)
        #else
            return Transport { _ in
                throw TransportError.unreachable(reason: "libcurl (libcurl.so.4) could not be loaded; install libcurl4")
            }
        #endif
    }

    /// True when `live` can trust a CA file: on Linux, where it runs on libcurl. URLSession on Linux has no way to
    /// set one, and on Apple platforms it would take the Security framework.
    public static var supportsCAFile: Bool { Curl.shared != nil }

    #if canImport(Darwin) || !B1CACHE_NO_URLSESSION
        /// The URLSession transport: on Apple platforms, and on Linux when libcurl cannot be loaded
        /// (`B1CACHE_TRANSPORT=urlsession` forces it, for comparison). See `Curl` for what it cannot do on Linux.
        static func urlSession(baseURL: URL, token: String?, timeout: TimeInterval, maximumAnswerBytes: Int)
            -> Transport
        {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = timeout
            configuration.timeoutIntervalForResource = max(timeout * 4, 120)
            configuration.httpMaximumConnectionsPerHost = 2
            configuration.urlCache = nil
            configuration.httpCookieStorage = nil
            let receiver = AnswerReceiver(limit: maximumAnswerBytes, timeout: timeout, secret: Data((token ?? "").utf8))
            // The session keeps its delegate until invalidated; one session serves the whole command.
            let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
            let base =
                baseURL.absoluteString.hasSuffix("/")
                ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
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
                return try await receiver.send(urlRequest, on: session)
            }
        }
    #endif
}

#if canImport(Darwin) || !B1CACHE_NO_URLSESSION
    /// The delegate of the live transport's session: collects each answer's bytes as they arrive and cancels the
    /// request the moment the answer is known to pass the limit, instead of letting URLSession download it whole
    /// (which `data(for:)` does, checking nothing until the end).
    ///
    /// Callbacks for one session come one at a time on its delegate queue; the table of requests in flight is behind
    /// a `Mutex` because `send` adds to it from any task. Only the `didReceive data` and `didCompleteWithError`
    /// callbacks are used: they have the same signature on every platform, and on Linux the disposition given to
    /// `didReceive response` is ignored anyway (swift-corelibs-foundation issue 3236), so a request is stopped with
    /// `cancel()`, which works everywhere.
    final class AnswerReceiver: NSObject, URLSessionDataDelegate, Sendable {
        private struct InFlight: Sendable {
            var continuation: CheckedContinuation<HTTPResponse, any Error>
            var body = Data()
        }

        private let limit: Int
        private let timeout: TimeInterval
        private let secret: Data
        private let inFlight = Mutex<[Int: InFlight]>([:])

        /// - Parameter secret: the token, cut out of every answer.
        init(limit: Int, timeout: TimeInterval, secret: Data) {
            self.limit = limit
            self.timeout = timeout
            self.secret = secret
        }

        /// Starts `request` and waits for its whole answer.
        /// - Throws: `TransportError`.
        func send(_ request: URLRequest, on session: URLSession) async throws -> HTTPResponse {
            let task = session.dataTask(with: request)
            let id = task.taskIdentifier
            return try await withCheckedThrowingContinuation { continuation in
                // Registered before `resume`, so no callback can come for a request the table does not know.
                inFlight.withLock { $0[id] = InFlight(continuation: continuation) }
                task.resume()
            }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let id = dataTask.taskIdentifier
            let declared = dataTask.response?.expectedContentLength ?? -1
            let abandoned = inFlight.withLock { table -> InFlight? in
                // The entry is never bound to a local: a copy would share its body, and the append below would then
                // copy the whole body each time (quadratic). No entry: an answer already abandoned, still arriving.
                guard let received = table[id]?.body.count else { return nil }
                if declared > Int64(limit) || received + data.count > limit { return table.removeValue(forKey: id) }
                table[id]?.body.append(data)
                return nil
            }
            guard let abandoned else { return }
            abandoned.continuation.resume(throwing: TransportError.answerTooLarge(limit: limit))
            // The caller has its answer now. `cancel()` waits for URLSession's own work queue, which a fast sender keeps
            // busy on Linux for up to a second or two; meanwhile the bytes still arriving are dropped at once above,
            // since the delegate queue is not blocked by the wait.
            DispatchQueue.global().async { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            guard let entry = inFlight.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
            if let error {
                entry.continuation.resume(throwing: transportError(error))
            } else if let http = task.response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (name, value) in http.allHeaderFields {
                    if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
                }
                entry.continuation.resume(
                    returning: HTTPResponse(
                        status: http.statusCode, headers: headers,
                        body: SecretRemoval.removing(secret, from: entry.body)))
            } else {
                entry.continuation.resume(throwing: TransportError.noAnswer(reason: "the answer was not HTTP"))
            }
        }

        /// A URLSession error as a sentence. Nothing reached the server only when no connection could be made.
        private func transportError(_ error: any Error) -> TransportError {
            guard let error = error as? URLError else { return .noAnswer(reason: "\(error)") }
            switch error.code {
            case .cannotConnectToHost, .cannotFindHost, .notConnectedToInternet, .dnsLookupFailed,
                .internationalRoamingOff, .dataNotAllowed:
                return .unreachable(reason: Self.reason(error))
            case .timedOut:
                return .noAnswer(reason: "nothing arrived for \(Self.seconds(timeout)), the --timeout")
            case .networkConnectionLost:
                return .noAnswer(reason: "the connection closed before the whole answer arrived")
            case .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
                .serverCertificateHasUnknownRoot:
                return .certificateNotTrusted(reason: Self.reason(error))
            case .secureConnectionFailed: return .secureConnectionFailed(reason: Self.reason(error))
            case .badURL, .unsupportedURL: return .invalidURL(reason: Self.reason(error))
            default:
                return .noAnswer(reason: Self.reason(error))
            }
        }

        /// Foundation on Linux describes URL errors only by number ("NSURLErrorDomain error -1004"); name the common ones.
        private static func reason(_ error: URLError) -> String {
            switch error.code {
            case .cannotConnectToHost: "connection refused"
            case .cannotFindHost, .dnsLookupFailed: "unknown host"
            case .notConnectedToInternet: "no network"
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
                .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
                "the secure connection failed (\(error.code.rawValue))"
            case .badServerResponse: "the answer was not valid HTTP"
            default:
                // libcurl's own words when Foundation passes them on ("transfer closed with 81 bytes remaining to read").
                error.localizedDescription.hasPrefix("The operation could not be completed")
                    ? "URL error \(error.code.rawValue)" : "the connection failed: \(error.localizedDescription)"
            }
        }
        private static func seconds(_ value: TimeInterval) -> String {
            value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
        }
    }
#endif

/// The token cut out of an answer before anything reads it (both live transports use it).
enum SecretRemoval {
    /// What stands where the token was.
    static let removedSecret = Data("[token removed]".utf8)

    /// `body` with every occurrence of `secret` replaced. The replacement holds no quote or backslash, so JSON
    /// stays JSON. A secret shorter than 8 bytes is left alone: it could match ordinary data, and no real token is
    /// that short. About 2 ns a byte (a 5,000-item page of a few MB: milliseconds).
    static func removing(_ secret: Data, from body: Data) -> Data {
        guard secret.count >= 8, var found = body.range(of: secret) else { return body }
        var result = Data()
        result.reserveCapacity(body.count)
        var start = body.startIndex
        while true {
            result.append(body[start..<found.lowerBound])
            result.append(removedSecret)
            start = found.upperBound
            guard let next = body.range(of: secret, in: start..<body.endIndex) else { break }
            found = next
        }
        result.append(body[start..<body.endIndex])
        return result
    }
}
