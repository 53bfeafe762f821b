import Foundation
#if canImport(FoundationNetworking) && !B1CACHE_NO_URLSESSION  // left out of the static build: see Transport+Live
    import FoundationNetworking
#endif

/// A piece of a streamed answer, in order: the head once, then the body's bytes as they arrive.
public enum HTTPStreamPart: Sendable, Equatable {
    /// The status and headers (names lowercased).
    case head(status: Int, headers: [String: String])
    /// Body bytes, as the network delivered them (an event may be split across two pieces).
    case bytes(Data)
}

/// A long-lived request whose answer is read as it arrives (the change feed, `GET /v1/events`), beside
/// `Transport`, whose answers are read whole. The stream ends when the server closes the connection; it throws
/// `TransportError` when the connection fails, and stops the request when the consumer stops iterating (a
/// cancelled task, or a watchdog that decided the stream is dead).
///
/// It has no overall timeout and no silence timeout of its own: how long a feed may stay silent is the caller's
/// rule (twice the heartbeat), so only connecting is bounded by `timeout`.
public struct StreamTransport: Sendable {
    /// Opens a request and streams its answer.
    public var open: @Sendable (HTTPRequest) -> AsyncThrowingStream<HTTPStreamPart, any Error>

    /// A stream transport from a closure (tests; `live` for a real server).
    public init(open: @escaping @Sendable (HTTPRequest) -> AsyncThrowingStream<HTTPStreamPart, any Error>) {
        self.open = open
    }

    /// The live form: libcurl's easy interface on Linux (a write callback delivering each chunk as it arrives, on a
    /// thread of its own that sleeps in `poll`), URLSession's data delegate elsewhere.
    /// - Parameters:
    ///   - token: sent as `Authorization: Bearer`.
    ///   - timeout: the longest wait for a connection.
    ///   - caFile: a PEM file of the CAs to trust instead of the system's; only where `Transport.supportsCAFile`.
    public static func live(
        baseURL: URL, token: String?, timeout: TimeInterval = 30,
        caFile: String? = nil
    ) -> StreamTransport {
        let text = baseURL.absoluteString
        let base = text.hasSuffix("/") ? String(text.dropLast()) : text
        @Sendable func headers(_ request: HTTPRequest) -> [String: String] {
            var headers = ["Accept": "text/event-stream"]
            if let token { headers["Authorization"] = "Bearer \(token)" }
            headers.merge(request.headers) { $1 }
            return headers
        }
        if let curl = Curl.shared {
            return StreamTransport { request in
                CurlStream.open(
                    curl, url: base + request.path, headers: headers(request), timeout: timeout,
                    caFile: caFile)
            }
        }
        #if canImport(Darwin) || !B1CACHE_NO_URLSESSION
            return StreamTransport { request in
                URLSessionStream.open(url: base + request.path, headers: headers(request), timeout: timeout)
            }
        #else
            return StreamTransport { _ in
                AsyncThrowingStream {
                    $0.finish(
                        throwing: TransportError.unreachable(
                            reason: "libcurl (libcurl.so.4) could not be loaded; install libcurl4"))
                }
            }
        #endif
    }
}

#if canImport(Darwin) || !B1CACHE_NO_URLSESSION
    /// The URLSession form of a stream (Apple platforms, or Linux without libcurl): a data delegate that passes on
    /// each piece as it arrives. One session per stream, invalidated when the stream ends.
    final class URLSessionStream: NSObject, URLSessionDataDelegate, Sendable {
        private let continuation: AsyncThrowingStream<HTTPStreamPart, any Error>.Continuation

        private init(_ continuation: AsyncThrowingStream<HTTPStreamPart, any Error>.Continuation) {
            self.continuation = continuation
        }

        static func open(url: String, headers: [String: String], timeout: TimeInterval)
            -> AsyncThrowingStream<HTTPStreamPart, any Error>
        {
            AsyncThrowingStream { continuation in
                guard let target = URL(string: url) else {
                    continuation.finish(throwing: TransportError.invalidURL(reason: "invalid URL \(url)"))
                    return
                }
                var request = URLRequest(url: target)
                request.httpMethod = "GET"
                // Silence is judged by the caller (the heartbeat rule); a day stands for "never" here.
                request.timeoutInterval = 86_400
                for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
                let configuration = URLSessionConfiguration.ephemeral
                configuration.timeoutIntervalForRequest = 86_400
                configuration.timeoutIntervalForResource = 86_400 * 365
                configuration.urlCache = nil
                configuration.httpCookieStorage = nil
                let session = URLSession(
                    configuration: configuration, delegate: URLSessionStream(continuation),
                    delegateQueue: nil)
                let task = session.dataTask(with: request)
                continuation.onTermination = { _ in
                    task.cancel()
                    session.invalidateAndCancel()
                }
                task.resume()
            }
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
        ) {
            var headers: [String: String] = [:]
            if let http = response as? HTTPURLResponse {
                for (name, value) in http.allHeaderFields {
                    if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
                }
            }
            continuation.yield(.head(status: (response as? HTTPURLResponse)?.statusCode ?? 0, headers: headers))
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            continuation.yield(.bytes(data))
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            if let error {
                let code = (error as? URLError)?.code
                continuation.finish(
                    throwing: code == .cannotConnectToHost || code == .cannotFindHost
                        ? TransportError.unreachable(reason: "\(error.localizedDescription)")
                        : TransportError.noAnswer(reason: "\(error.localizedDescription)"))
            } else {
                continuation.finish()
            }
            session.finishTasksAndInvalidate()
        }
    }
#endif
