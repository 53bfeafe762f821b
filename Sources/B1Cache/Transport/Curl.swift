import Foundation

/// libcurl's easy interface, found at run time in the `libcurl.so.4` that FoundationNetworking itself links on Linux.
///
/// Why not URLSession there (swift-corelibs-foundation, checked against 6.3.1 and its main branch of 2026-08):
/// - it never removes the write-readiness source it made while connecting, so a request waiting for its answer
///   spins a core (`_SocketSources.createSources` in MultiHandle.swift only adds sources): 2.7 s of CPU in a 3 s wait;
/// - it sets no CA file and reads no variable for one (`EasyHandle.setCARootBundlePath`; only Android has one), so a
///   server behind a private CA cannot be used at all;
/// - it refuses IPv6 literals (`http://[::1]:8787`: "URLSession and curl did not agree on URL host", error -1000);
/// - every `URLSessionConfiguration` builds `HTTPCookieStorage.shared`, which reads `Bundle.main`, which traps when
///   the executable's folder cannot be read by the user running it, and creates `~/.local/share/<folder name>`.
///
/// `curl_easy_perform` waits in `poll`, trusts `CURLOPT_CAINFO`, and parses URLs itself. Only fixed-argument C calls
/// are made: `curl_easy_setopt` and `curl_easy_getinfo` are variadic, and are called through a pointer type with one
/// fixed third argument of the type the option takes (a `long`, a pointer or a `curl_off_t`), which is how the
/// System V x86-64 and AArch64 Linux calling conventions pass a variadic integer or pointer argument.
struct Curl: Sendable {
    typealias Handle = OpaquePointer
    typealias DataCallback = @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int
    typealias ProgressCallback = @convention(c) (UnsafeMutableRawPointer?, Int64, Int64, Int64, Int64) -> Int32

    let easyInit: @convention(c) () -> Handle?
    let easyCleanup: @convention(c) (Handle?) -> Void
    let easyReset: @convention(c) (Handle?) -> Void
    let easyPerform: @convention(c) (Handle?) -> Int32
    let setLong: @convention(c) (Handle?, Int32, Int) -> Int32
    let setPointer: @convention(c) (Handle?, Int32, UnsafeRawPointer?) -> Int32
    let getInfo: @convention(c) (Handle?, Int32, UnsafeMutableRawPointer?) -> Int32
    let listAppend: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?
    let listFree: @convention(c) (OpaquePointer?) -> Void

    /// The library, loaded once; nil where there is none (then the transport is URLSession's).
    static let shared: Curl? = {
        #if os(Linux)
            guard ProcessInfo.processInfo.environment["B1CACHE_TRANSPORT"] != "urlsession",
                let library = System.openLibrary(["libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"])
            else { return nil }
            func find<T>(_ name: String, as type: T.Type) -> T? {
                System.symbol(name, in: library).map { unsafeBitCast($0, to: type) }
            }
            typealias GlobalInit = @convention(c) (Int) -> Int32
            typealias SetPointer = @convention(c) (Handle?, Int32, UnsafeRawPointer?) -> Int32
            typealias GetInfo = @convention(c) (Handle?, Int32, UnsafeMutableRawPointer?) -> Int32
            typealias ListAppend = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?
            guard let globalInit = find("curl_global_init", as: GlobalInit.self),
                let easyInit = find("curl_easy_init", as: (@convention(c) () -> Handle?).self),
                let easyCleanup = find("curl_easy_cleanup", as: (@convention(c) (Handle?) -> Void).self),
                let easyReset = find("curl_easy_reset", as: (@convention(c) (Handle?) -> Void).self),
                let easyPerform = find("curl_easy_perform", as: (@convention(c) (Handle?) -> Int32).self),
                let setLong = find("curl_easy_setopt", as: (@convention(c) (Handle?, Int32, Int) -> Int32).self),
                let setPointer = find("curl_easy_setopt", as: SetPointer.self),
                let getInfo = find("curl_easy_getinfo", as: GetInfo.self),
                let listAppend = find("curl_slist_append", as: ListAppend.self),
                let listFree = find("curl_slist_free_all", as: (@convention(c) (OpaquePointer?) -> Void).self)
            else { return nil }
            // Once, before any handle: curl_easy_init would do it too, but not safely from two threads at once.
            guard globalInit(Option.globalDefault) == 0 else { return nil }
            return Curl(
                easyInit: easyInit, easyCleanup: easyCleanup, easyReset: easyReset, easyPerform: easyPerform,
                setLong: setLong, setPointer: setPointer, getInfo: getInfo, listAppend: listAppend,
                listFree: listFree)
        #else
            return nil
        #endif
    }()

    /// The `CURLOPT_*`, `CURLINFO_*` and `CURL_GLOBAL_*` numbers used (curl/curl.h; stable across libcurl 7 and 8).
    enum Option {
        static let globalDefault = 3
        static let writeData: Int32 = 10001, url: Int32 = 10002, errorBuffer: Int32 = 10010
        static let postFields: Int32 = 10015, userAgent: Int32 = 10018, httpHeader: Int32 = 10023
        static let headerData: Int32 = 10029, customRequest: Int32 = 10036, progressData: Int32 = 10057
        static let caInfo: Int32 = 10065
        static let lowSpeedLimit: Int32 = 19, lowSpeedTime: Int32 = 20, noProgress: Int32 = 43, post: Int32 = 47
        static let httpGet: Int32 = 80, noSignal: Int32 = 99, timeoutMilliseconds: Int32 = 155
        static let connectTimeoutMilliseconds: Int32 = 156, protocols: Int32 = 181
        static let writeFunction: Int32 = 20011, headerFunction: Int32 = 20079, progressFunction: Int32 = 20219
        static let postFieldSize: Int32 = 30120
        static let responseCode: Int32 = 0x200002, requestSize: Int32 = 0x20000C
        static let httpAndHTTPS = 1 | 2
        static let errorBufferSize = 256
    }

    /// `CURLcode` values b1cache tells apart.
    enum Code {
        static let unsupportedProtocol: Int32 = 1, malformedURL: Int32 = 3, cannotResolveProxy: Int32 = 5
        static let cannotResolveHost: Int32 = 6, cannotConnect: Int32 = 7, weirdServerReply: Int32 = 8
        static let partialFile: Int32 = 18, writeError: Int32 = 23, timedOut: Int32 = 28, sslConnectError: Int32 = 35
        static let abortedByCallback: Int32 = 42, gotNothing: Int32 = 52, sendError: Int32 = 55
        static let receiveError: Int32 = 56
        static let sslCertificateProblem: Int32 = 58, sslCipher: Int32 = 59, peerFailedVerification: Int32 = 60
        static let badCAFile: Int32 = 77, sslIssuerError: Int32 = 83, pinnedKeyMismatch: Int32 = 90
        static let invalidCertificateStatus: Int32 = 91, proxy: Int32 = 97
    }
}

extension Curl {
    /// One line of an answer's head, as libcurl's header callback hands it over (both the request and the stream
    /// callbacks read them alike).
    enum HeaderLine {
        /// `HTTP/1.1 200 OK`: a status line starts a head afresh (a `100 Continue` or a proxy's answer to CONNECT
        /// comes before the real one); 0 when the status cannot be read.
        case status(Int)
        /// `Name: value`, the name lowercased, both trimmed.
        case field(name: String, value: String)
        /// The blank line that ends a head.
        case end
        /// Anything else (a folded line, which HTTP/1.1 no longer allows).
        case other

        init(_ bytes: UnsafeMutablePointer<CChar>, length: Int) {
            let line = bytes.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("HTTP/") {
                let words = line.split(separator: " ")
                self = .status(words.count > 1 ? Int(words[1]) ?? 0 : 0)
            } else if line.isEmpty {
                self = .end
            } else if let colon = line.firstIndex(of: ":") {
                self = .field(
                    name: line[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                    value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            } else {
                self = .other
            }
        }
    }
}

extension Curl {
    /// The options every b1cache transfer sets alike (a request and a stream): no signals, HTTP and HTTPS only, a
    /// bounded connect, the error buffer, the headers, the three callbacks with their context, the user agent.
    func setCommonOptions(
        _ handle: Handle?, connectTimeout: TimeInterval, errorText: UnsafeMutablePointer<CChar>,
        headers: OpaquePointer?, context: UnsafeMutableRawPointer, onBody: DataCallback,
        onHeader: DataCallback, onProgress: ProgressCallback
    ) {
        typealias O = Option
        _ = setLong(handle, O.noSignal, 1)
        _ = setLong(handle, O.protocols, O.httpAndHTTPS)
        _ = setLong(handle, O.connectTimeoutMilliseconds, max(Int((connectTimeout * 1000).rounded(.up)), 1))
        _ = setPointer(handle, O.errorBuffer, errorText)
        _ = setPointer(handle, O.httpHeader, UnsafeRawPointer(headers))
        _ = setPointer(handle, O.writeFunction, unsafeBitCast(onBody, to: UnsafeRawPointer.self))
        _ = setPointer(handle, O.writeData, context)
        _ = setPointer(handle, O.headerFunction, unsafeBitCast(onHeader, to: UnsafeRawPointer.self))
        _ = setPointer(handle, O.headerData, context)
        _ = setLong(handle, O.noProgress, 0)
        _ = setPointer(handle, O.progressFunction, unsafeBitCast(onProgress, to: UnsafeRawPointer.self))
        _ = setPointer(handle, O.progressData, context)
        "b1cache".withCString { _ = setPointer(handle, O.userAgent, $0) }
    }

    /// A failed transfer as the protocol's errors (a request's and a stream's alike). Nothing reached the server
    /// only when no connection was made (`connected` false).
    static func transportError(_ code: Int32, detail: String, connected: Bool, timeout: TimeInterval) -> TransportError
    {
        typealias C = Code
        let detail = detail.isEmpty ? "libcurl error \(code)" : detail
        let seconds = timeout == timeout.rounded() ? "\(Int(timeout)) s" : String(format: "%.1f s", timeout)
        switch code {
        case C.cannotResolveHost, C.cannotResolveProxy: return .unreachable(reason: "unknown host: \(detail)")
        case C.cannotConnect, C.proxy: return .unreachable(reason: detail)
        case C.timedOut where !connected: return .unreachable(reason: "no connection within \(seconds), the --timeout")
        case C.timedOut: return .noAnswer(reason: "nothing arrived for \(seconds), the --timeout")
        case C.partialFile: return .noAnswer(reason: "the connection closed before the whole answer arrived")
        case C.gotNothing: return .noAnswer(reason: "the server closed the connection without answering")
        case C.sendError, C.receiveError: return .noAnswer(reason: "the connection was lost (\(detail))")
        case C.weirdServerReply: return .noAnswer(reason: "the answer was not valid HTTP (\(detail))")
        case C.peerFailedVerification, C.sslIssuerError, C.pinnedKeyMismatch, C.invalidCertificateStatus:
            return .certificateNotTrusted(reason: detail)
        case C.sslConnectError, C.sslCertificateProblem, C.sslCipher, C.badCAFile:
            return .secureConnectionFailed(reason: detail)
        case C.unsupportedProtocol, C.malformedURL: return .invalidURL(reason: detail)
        default: return .noAnswer(reason: detail)
        }
    }
}
