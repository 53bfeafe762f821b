import Foundation
import Synchronization

/// A streamed request on libcurl's easy interface: the request path of `Transport+Curl.swift` with the body handed
/// on chunk by chunk (libcurl's write callback) instead of collected, no size limit (a feed is endless by design;
/// the consumer keeps nothing but the event being parsed) and no silence or overall timeout (the consumer's
/// heartbeat rule decides when a stream is dead, and stops it).
final class CurlStream: @unchecked Sendable {
    // @unchecked: everything but `cancelled` is touched only by the thread running `run` (the callbacks come on it).
    private let url: String
    private let headers: [String: String]
    private let timeout: TimeInterval
    private let caFile: String?
    private let continuation: AsyncThrowingStream<HTTPStreamPart, any Error>.Continuation
    /// Set when the consumer stops; the write and progress callbacks then abort the transfer (the progress
    /// callback runs about once a second on an idle connection, so a silent stream stops within about a second).
    let cancelled = Mutex(false)

    private var status = 0
    private var responseHeaders: [String: String] = [:]
    private var headSent = false

    private init(
        url: String, headers: [String: String], timeout: TimeInterval, caFile: String?,
        continuation: AsyncThrowingStream<HTTPStreamPart, any Error>.Continuation
    ) {
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.caFile = caFile
        self.continuation = continuation
    }

    static func open(
        _ curl: Curl, url: String, headers: [String: String], timeout: TimeInterval,
        caFile: String?
    ) -> AsyncThrowingStream<HTTPStreamPart, any Error> {
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let stream = CurlStream(
                url: url, headers: headers, timeout: timeout, caFile: caFile,
                continuation: continuation)
            continuation.onTermination = { _ in stream.cancelled.withLock { $0 = true } }
            let thread = Thread { stream.run(curl) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func run(_ curl: Curl) {
        typealias O = Curl.Option
        guard let handle = curl.easyInit() else {
            continuation.finish(throwing: TransportError.unreachable(reason: "libcurl could not make a handle"))
            return
        }
        defer { curl.easyCleanup(handle) }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: O.errorBufferSize)
        errorText.initialize(repeating: 0, count: O.errorBufferSize)
        defer { errorText.deallocate() }
        var list: OpaquePointer?
        for (name, value) in headers { list = curl.listAppend(list, "\(name): \(value)") }
        defer { curl.listFree(list) }
        curl.setCommonOptions(
            handle, connectTimeout: timeout, errorText: errorText, headers: list, context: context,
            onBody: Self.onBody, onHeader: Self.onHeader, onProgress: Self.onProgress)
        _ = curl.setLong(handle, O.httpGet, 1)
        let code: Int32 = url.withCString { url in
            _ = curl.setPointer(handle, O.url, url)
            return (caFile ?? "").withCString { caFile in
                if self.caFile != nil { _ = curl.setPointer(handle, O.caInfo, caFile) }
                return curl.easyPerform(handle)
            }
        }
        if cancelled.withLock({ $0 }) {
            continuation.finish(throwing: CancellationError())
        } else if code == 0 {
            sendHead()
            continuation.finish()
        } else {
            var sent = 0
            _ = curl.getInfo(handle, O.requestSize, &sent)
            continuation.finish(
                throwing: Curl.transportError(
                    code, detail: String(cString: errorText),
                    connected: sent > 0, timeout: timeout))
        }
    }

    private func sendHead() {
        guard !headSent else { return }
        headSent = true
        continuation.yield(.head(status: status, headers: responseHeaders))
    }

    private static func stream(_ context: UnsafeMutableRawPointer?) -> CurlStream? {
        context.map { Unmanaged<CurlStream>.fromOpaque($0).takeUnretainedValue() }
    }

    private static let onBody: Curl.DataCallback = { bytes, size, count, context in
        guard let stream = stream(context), let bytes else { return 0 }
        if stream.cancelled.withLock({ $0 }) { return 0 }
        let length = size * count
        stream.sendHead()
        stream.continuation.yield(.bytes(Data(bytes: bytes, count: length)))
        return length
    }

    /// One header line at a time; a status line starts the headers afresh (a proxy's answer to CONNECT comes first),
    /// and the blank line after a final status with a Content-Type sends the head, so a stream that sends no byte of
    /// body yet is known to be open.
    private static let onHeader: Curl.DataCallback = { bytes, size, count, context in
        guard let stream = stream(context), let bytes else { return 0 }
        let length = size * count
        switch Curl.HeaderLine(bytes, length: length) {
        case .status(let status):
            stream.responseHeaders = [:]
            stream.status = status
        case .end:
            // A proxy's answer to CONNECT has no Content-Type; the real answer's head then comes with its first byte.
            if stream.status >= 200 && stream.responseHeaders["content-type"] != nil { stream.sendHead() }
        case .field(let name, let value):
            stream.responseHeaders[name] = value
        case .other:
            break
        }
        return length
    }

    private static let onProgress: Curl.ProgressCallback = { context, _, _, _, _ in
        guard let stream = stream(context) else { return 0 }
        return stream.cancelled.withLock { $0 } ? 1 : 0
    }
}
