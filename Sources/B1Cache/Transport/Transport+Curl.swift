import Foundation
import Synchronization

extension Transport {
    /// The live transport on libcurl's easy interface (see `Curl` for why not URLSession on Linux), with the same
    /// promises as `live`: connection reuse, a bearer token, `timeout` as the longest silence (while connecting,
    /// before the answer and in the middle of it), the size limit enforced while the answer arrives, the token cut out
    /// of every answer. Each request waits in `curl_easy_perform` on a thread of its own, which sleeps in `poll`.
    /// - Parameter caFile: a PEM file of the CAs to trust instead of the system's (`--ca-file`).
    static func curl(
        _ curl: Curl, baseURL: URL, token: String?, timeout: TimeInterval, maximumAnswerBytes: Int,
        caFile: String?
    ) -> Transport {
        let pool = CurlHandlePool(curl)
        let text = baseURL.absoluteString
        let base = text.hasSuffix("/") ? String(text.dropLast()) : text
        let secret = Data((token ?? "").utf8)
        return Transport { request in
            var headers = ["Accept": "application/json", "Expect": ""]
            if let token { headers["Authorization"] = "Bearer \(token)" }
            if request.body != nil { headers["Content-Type"] = "application/json" }
            headers.merge(request.headers) { $1 }
            let exchange = CurlExchange(
                url: base + request.path, method: request.method, headers: headers,
                body: request.body, limit: maximumAnswerBytes, timeout: timeout, caFile: caFile)
            let response = try await withTaskCancellationHandler {
                try await pool.perform(exchange)
            } onCancel: {
                exchange.cancelled.withLock { $0 = true }
            }
            return HTTPResponse(
                status: response.status, headers: response.headers,
                body: SecretRemoval.removing(secret, from: response.body))
        }
    }
}

/// Idle easy handles, each keeping its connections open for the next request (connection reuse).
final class CurlHandlePool: Sendable {
    private let curl: Curl
    /// Handles as addresses: a handle is used by one thread at a time, the one that took it from here.
    private let idle = Mutex<[UInt]>([])

    init(_ curl: Curl) { self.curl = curl }

    deinit {
        for address in idle.withLock({ $0 }) { curl.easyCleanup(OpaquePointer(bitPattern: address)) }
    }

    /// Runs the exchange on a thread of its own and waits for it without holding a thread of the cooperative pool.
    func perform(_ exchange: CurlExchange) async throws -> HTTPResponse {
        let address = idle.withLock { $0.popLast() } ?? UInt(bitPattern: curl.easyInit())
        guard address != 0 else { throw TransportError.unreachable(reason: "libcurl could not make a handle") }
        let curl = self.curl
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { [self] in
                let handle = OpaquePointer(bitPattern: address)
                let result = exchange.run(curl, on: handle)
                curl.easyReset(handle)  // options back to defaults; its open connections and DNS cache stay
                idle.withLock { $0.append(address) }
                continuation.resume(with: result)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

/// One request and what came back, filled by libcurl's callbacks on the request's thread.
final class CurlExchange: @unchecked Sendable {
    // @unchecked: everything but `cancelled` is touched only by the thread running `run` (the callbacks come on it).
    let url: String
    let method: String
    let headers: [String: String]
    let body: Data?
    let limit: Int
    let timeout: TimeInterval
    let caFile: String?
    /// Set from any task; the progress callback (about once a second, and on every packet) then aborts the request.
    let cancelled = Mutex(false)

    private var status = 0
    private var responseHeaders: [String: String] = [:]
    private var received = Data()
    private var tooLarge = false

    init(
        url: String, method: String, headers: [String: String], body: Data?, limit: Int, timeout: TimeInterval,
        caFile: String?
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.limit = limit
        self.timeout = timeout
        self.caFile = caFile
    }

    func run(_ curl: Curl, on handle: Curl.Handle?) -> Result<HTTPResponse, any Error> {
        typealias O = Curl.Option
        let context = Unmanaged.passUnretained(self).toOpaque()
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: O.errorBufferSize)
        errorText.initialize(repeating: 0, count: O.errorBufferSize)
        defer { errorText.deallocate() }
        var list: OpaquePointer?
        for (name, value) in headers {
            // "Name:" with nothing after it tells curl to send no such header (used for Expect: 100-continue).
            list = curl.listAppend(list, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
        defer { curl.listFree(list) }
        curl.setCommonOptions(
            handle, connectTimeout: timeout, errorText: errorText, headers: list, context: context,
            onBody: Self.onBody, onHeader: Self.onHeader, onProgress: Self.onProgress)
        // Silence: fewer than 1 byte a second for `timeout` seconds (whole seconds, at least 1).
        _ = curl.setLong(handle, O.lowSpeedLimit, 1)
        _ = curl.setLong(handle, O.lowSpeedTime, max(Int(timeout.rounded(.up)), 1))
        _ = curl.setLong(handle, O.timeoutMilliseconds, Int(max(timeout * 4, 120) * 1000))
        let code: Int32 = url.withCString { url in
            _ = curl.setPointer(handle, O.url, url)  // curl copies string options
            return (caFile ?? "").withCString { caFile in
                if self.caFile != nil { _ = curl.setPointer(handle, O.caInfo, caFile) }
                switch method {
                case "GET": _ = curl.setLong(handle, O.httpGet, 1)
                case "POST": _ = curl.setLong(handle, O.post, 1)
                default: method.withCString { _ = curl.setPointer(handle, O.customRequest, $0) }
                }
                // The body is not copied: it must outlive the transfer, which ends inside this closure.
                return (body ?? Data()).withUnsafeBytes { bytes in
                    if self.body != nil || self.method == "POST" {
                        _ = curl.setLong(handle, O.postFieldSize, bytes.count)
                        _ = curl.setPointer(handle, O.postFields, bytes.baseAddress ?? UnsafeRawPointer(errorText))
                    }
                    return curl.easyPerform(handle)
                }
            }
        }
        if code == 0 {
            var status = 0
            _ = curl.getInfo(handle, O.responseCode, &status)
            return .success(HTTPResponse(status: status, headers: responseHeaders, body: received))
        }
        // Bytes of request sent: 0 when no connection was made (a reused one has no connect time, so not that).
        var sent = 0
        _ = curl.getInfo(handle, O.requestSize, &sent)
        return .failure(error(code, detail: String(cString: errorText), connected: sent > 0))
    }

    /// A failed transfer as the protocol's errors: a cancel, an answer over the limit, else `Curl.transportError`.
    private func error(_ code: Int32, detail: String, connected: Bool) -> any Error {
        switch code {
        case Curl.Code.abortedByCallback: return CancellationError()
        case Curl.Code.writeError where tooLarge: return TransportError.answerTooLarge(limit: limit)
        default: return Curl.transportError(code, detail: detail, connected: connected, timeout: timeout)
        }
    }

    private static func exchange(_ context: UnsafeMutableRawPointer?) -> CurlExchange? {
        context.map { Unmanaged<CurlExchange>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Body bytes; returning fewer than given aborts the transfer (CURLE_WRITE_ERROR), which is how the size limit
    /// stops an answer at the first byte past it.
    private static let onBody: Curl.DataCallback = { bytes, size, count, context in
        guard let exchange = exchange(context), let bytes else { return 0 }
        let length = size * count
        if exchange.received.count + length > exchange.limit {
            exchange.tooLarge = true
            return 0
        }
        bytes.withMemoryRebound(to: UInt8.self, capacity: length) { exchange.received.append($0, count: length) }
        return length
    }

    /// One header line at a time. A status line starts the headers afresh (a `100 Continue`, or a proxy's answer to
    /// CONNECT, comes before the real one); a declared `Content-Length` over the limit ends the transfer at once.
    private static let onHeader: Curl.DataCallback = { bytes, size, count, context in
        guard let exchange = exchange(context), let bytes else { return 0 }
        let length = size * count
        switch Curl.HeaderLine(bytes, length: length) {
        case .status:
            exchange.responseHeaders = [:]
        case .field(let name, let value):
            exchange.responseHeaders[name] = value
            if name == "content-length", let declared = Int(value), declared > exchange.limit {
                exchange.tooLarge = true
                return 0
            }
        case .end, .other:
            break
        }
        return length
    }

    private static let onProgress: Curl.ProgressCallback = { context, _, _, _, _ in
        guard let exchange = exchange(context) else { return 0 }
        return exchange.cancelled.withLock { $0 } ? 1 : 0
    }
}
