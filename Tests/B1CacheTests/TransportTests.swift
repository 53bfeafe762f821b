import B1Cache
import Foundation
import Testing

/// The transport through the binary: what each server answer or URL gives (exit code and message), HTTPS behind a
/// private CA (nginx), IPv6 literals, proxies (tinyproxy), and waiting that costs no CPU. nginx and tinyproxy come
/// from `scripts/install-test-tools.sh` (run by `make test`); a test that needs one skips, saying so, without it.
@Suite final class TransportTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    static let nginx = NetworkTools.find("nginx")
    static let tinyproxy = NetworkTools.find("tinyproxy")
    static let hasNginx: Bool = {
        if nginx == nil {
            Stress.record("transport", "skipped the nginx tests: nginx not installed (scripts/install-test-tools.sh)")
        }
        return nginx != nil
    }()
    static let hasTinyproxy: Bool = {
        if tinyproxy == nil {
            Stress.record(
                "transport", "skipped the proxy test: tinyproxy not installed (scripts/install-test-tools.sh)")
        }
        return tinyproxy != nil
    }()

    func b1cache(_ arguments: [String], _ environment: [String: String]) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], environment: environment, timeout: 60)
    }

    func pendingIds() throws -> [String] { try WriteQueue(paths: CachePaths(root: cache)).readablePending().map(\.id) }

    /// (what, command, environment, faults to inject first, exit code, words the error must hold). Nothing is sent
    /// in any row: the queue keeps its three writes and the server applies none.
    @Test func eachServerAnswerOrURLGivesItsDocumentedExitCodeAndMessage() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let port = try #require(server.url.port)
        let (silent, silentURL) = try NetworkTools.silentServer()
        let closedPort = try NetworkTools.freePort()
        let token = ["B1_TOKEN": server.devToken]
        let here = ["B1_SERVER_URL": server.url.absoluteString, "B1_TOKEN": server.devToken]
        let notPEM = folder.path("not-a-ca.pem")
        try Data("hello\n".utf8).write(to: notPEM)
        let rows: [(String, [String], [String: String], JSONValue?, Int32, [String])] = [
            (
                "503 on the session, Retry-After 120", ["flush"], here,
                ["status": 503, "count": 1, "retryAfter": 120, "path": "/v1/session"], 4,
                ["the server is unavailable (503", "wait 2 min", "nothing was lost"]
            ),
            (
                "429 on the session, Retry-After 30", ["flush"], here,
                ["status": 429, "count": 1, "retryAfter": 30, "path": "/v1/session"], 4,
                ["the server is unavailable (429", "wait 30 s"]
            ),
            (
                "503 on the session of sync --no-flush", ["sync", "--no-flush"], here,
                ["status": 503, "count": 1, "path": "/v1/session"], 4,
                ["the server is unavailable (503", "nothing was sent; try again later"]
            ),
            (
                "a port out of range", ["flush", "--server", "http://127.0.0.1:99999"], token, nil, 2,
                ["--server 'http://127.0.0.1:99999': port 99999 is out of range"]
            ),
            (
                "an unsupported scheme in the variable", ["flush"],
                ["B1_SERVER_URL": "ftp://127.0.0.1:\(port)", "B1_TOKEN": "x"], nil, 2,
                ["B1_SERVER_URL 'ftp://127.0.0.1:\(port)': the scheme 'ftp' is not supported"]
            ),
            (
                "https:// to a plain-HTTP port", ["flush", "--server", "https://127.0.0.1:\(port)"], token, nil, 2,
                ["no secure (TLS) connection could be made", "https:// only for a server that speaks TLS"]
            ),
            (
                "status, https:// to a plain-HTTP port", ["status", "--server", "https://127.0.0.1:\(port)"], [:], nil,
                2,
                ["no secure (TLS) connection could be made"]
            ),
            (
                "nothing listening", ["flush", "--server", "http://127.0.0.1:\(closedPort)"], token, nil, 4,
                ["could not be reached"]
            ),
            (
                "a server that never answers", ["flush", "--timeout", "1s", "--server", silentURL.absoluteString],
                token,
                nil, 4, ["did not answer (nothing arrived for 1 s, the --timeout)"]
            ),
            ("no server at all", ["flush"], token, nil, 2, ["no server: pass --server URL or set B1_SERVER_URL"]),
            (
                "a CA file that is not PEM", ["flush", "--ca-file", notPEM.path], here, nil, 2,
                ["--ca-file: '\(notPEM.path)' holds no PEM certificate"]
            ),
            (
                "a CA variable naming no file", ["flush"],
                here.merging(["SSL_CERT_FILE": "/nonexistent/ca.pem"]) { $1 },
                nil, 2, ["SSL_CERT_FILE: cannot read '/nonexistent/ca.pem'"]
            ),
        ]
        let before = try pendingIds()
        #expect(before.count == 3)
        var table: [String] = []
        for (what, arguments, environment, faults, code, words) in rows {
            try server.admin("admin/faults", faults ?? [:])
            let result = try b1cache(arguments, environment)
            #expect(result.status == code, "\(what): exit \(result.status): \(result.errorOutput)")
            for word in words { #expect(result.errorOutput.contains(word), "\(what): \(result.errorOutput)") }
            if code == 2 { #expect(!result.errorOutput.contains("offline"), "\(what): \(result.errorOutput)") }
            #expect(!result.killedBySignal, "\(what)")
            #expect(try pendingIds() == before, "\(what)")
            table.append("\(what) → \(result.status)")
        }
        #expect(try server.appliedCounts().isEmpty)
        withExtendedLifetime(silent) {}
        Stress.record("transport", table.joined(separator: "; "))
    }

    /// nginx terminates TLS with a certificate of a private CA made here: untrusted, it is a certificate error
    /// (exit 2, never "offline"); trusted through --ca-file, B1_CA_FILE, CURL_CA_BUNDLE or SSL_CERT_FILE, every
    /// command works and each write is applied once.
    @Test(.enabled(if: TransportTests.hasNginx, "nginx is not installed"))
    func httpsBehindAPrivateCAWorksOnceTheCAIsTrustedAndIsACertificateErrorBefore() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let (ca, certificate, key) = try NetworkTools.makeCertificates(in: folder.path("tls"))
        let port = try NetworkTools.freePort()
        let nginx = try #require(
            try NetworkTools.nginx(
                in: folder.path("nginx"), listen: "127.0.0.1:\(port)",
                upstream: server.url, tls: (certificate, key), port: port,
                host: "127.0.0.1"))
        let https = ["B1_SERVER_URL": "https://localhost:\(port)", "B1_TOKEN": server.devToken]
        let ids = try pendingIds()

        let status = try b1cache(["status"], https)
        #expect(status.status == 2, "\(status.output)\(status.errorOutput)")
        #expect(status.output.hasPrefix("server unusable"), "\(status.output)")
        #expect(status.errorOutput.contains("the server's TLS certificate is not trusted (SSL certificate problem"))
        #expect(status.errorOutput.contains("--ca-file"))
        let refused = try b1cache(["flush"], https)
        #expect(refused.status == 2 && !refused.errorOutput.contains("offline"), "\(refused.errorOutput)")
        #expect(try pendingIds() == ids)

        let flushed = try b1cache(["flush", "--ca-file", ca.path], https)
        #expect(flushed.status == 0, "\(flushed.errorOutput)")
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id)") }
        for variable in ["B1_CA_FILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"] {
            let synced = try b1cache(["sync"], https.merging([variable: ca.path]) { $1 })
            #expect(synced.status == 0, "\(variable): \(synced.errorOutput)")
            let online = try b1cache(["status", "--json"], https.merging([variable: ca.path]) { $1 })
            #expect(try JSONParser.parse(online.output)["online"] == .bool(true), "\(variable): \(online.output)")
        }
        withExtendedLifetime(nginx) {}
        Stress.record(
            "transport",
            "nginx with a private CA: untrusted → exit 2 (certificate message); "
                + "--ca-file, B1_CA_FILE, CURL_CA_BUNDLE, SSL_CERT_FILE each trusted it; 3 writes applied once")
    }

    /// `http://[::1]:PORT` (nginx on the IPv6 loopback in front of the reference server): sync and flush work.
    @Test(.enabled(if: TransportTests.hasNginx, "nginx is not installed"))
    func anIPv6LiteralURLWorks() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let port = try NetworkTools.freePort(host: "::1")
        let nginx = try #require(
            try NetworkTools.nginx(
                in: folder.path("nginx6"), listen: "[::1]:\(port)",
                upstream: server.url, tls: nil, port: port, host: "::1"))
        let environment = ["B1_SERVER_URL": "http://[::1]:\(port)", "B1_TOKEN": server.devToken]
        let ids = try pendingIds()
        let synced = try b1cache(["sync"], environment)
        #expect(synced.status == 0, "\(synced.errorOutput)")
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id)") }
        let status = try b1cache(["status", "--json"], environment)
        #expect(try JSONParser.parse(status.output)["online"] == .bool(true), "\(status.output)")
        withExtendedLifetime(nginx) {}
    }

    /// http_proxy for http://, HTTPS_PROXY (CONNECT) for https://: the proxy's log shows the requests went through it.
    @Test(.enabled(if: TransportTests.hasTinyproxy, "tinyproxy is not installed"))
    func proxiesFromTheEnvironmentAreUsed() throws {
        let server = try ReferenceServer(database: folder.path("server.db"))
        let proxy = try #require(try NetworkTools.tinyproxy(in: folder.path("proxy")))
        let ids = try pendingIds()
        let viaProxy = server.environment().merging(["http_proxy": "http://127.0.0.1:\(proxy.port)"]) { $1 }
        let flushed = try b1cache(["flush"], viaProxy)
        #expect(flushed.status == 0, "\(flushed.errorOutput)")
        let applied = try server.appliedCounts()
        for id in ids { #expect(applied[id] == 1, "\(id)") }
        var log = String(decoding: (try? Data(contentsOf: proxy.log)) ?? Data(), as: UTF8.self)
        #expect(log.contains("/v1/session") && log.contains("/v1/writes"), "\(log)")
        // A proxy that is down is being offline, not a protocol failure.
        let deadProxy = "http://127.0.0.1:\(try NetworkTools.freePort())"
        let down = try b1cache(["flush"], viaProxy.merging(["http_proxy": deadProxy]) { $1 })
        #expect(down.status == 4 && down.errorOutput.contains("could not be reached"), "\(down.errorOutput)")

        guard TransportTests.hasNginx else { return }
        let (ca, certificate, key) = try NetworkTools.makeCertificates(in: folder.path("tls"))
        let port = try NetworkTools.freePort()
        let nginx = try #require(
            try NetworkTools.nginx(
                in: folder.path("nginx"), listen: "127.0.0.1:\(port)",
                upstream: server.url, tls: (certificate, key), port: port,
                host: "127.0.0.1"))
        let status = try b1cache(
            ["status", "--json"],
            [
                "B1_SERVER_URL": "https://localhost:\(port)",
                "B1_CA_FILE": ca.path,
                "HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)",
            ])
        #expect(try JSONParser.parse(status.output)["online"] == .bool(true), "\(status.output)\(status.errorOutput)")
        log = String(decoding: (try? Data(contentsOf: proxy.log)) ?? Data(), as: UTF8.self)
        #expect(log.contains("CONNECT") && log.contains("localhost:\(port)"), "\(log)")
        withExtendedLifetime((nginx, proxy.0)) {}
    }

    /// Against a server that accepts and never answers, a 3 s wait costs well under 0.3 s of CPU (rusage of the
    /// child; URLSession on Linux spun a core here: 2.7 s).
    @Test func waitingForAServerThatNeverAnswersCostsNoCPU() throws {
        let (silent, url) = try NetworkTools.silentServer()
        let environment = ["B1_SERVER_URL": url.absoluteString, "B1_TOKEN": "b1-dev-token"]
        var figures: [String] = []
        for (arguments, code) in [
            (["status", "--timeout", "3s"], Int32(0)), (["flush", "--timeout", "3s"], Int32(4)),
        ] {
            let run = try CommandRunner.b1cacheMeasured(
                arguments + ["--cache-dir", cache.path],
                environment: environment,
                report: folder.path("rusage-\(arguments[0])"), hangGuard: 60)
            #expect(run.status == code, "\(arguments): \(run.errorOutput)")
            #expect(run.cpuSeconds >= 0 && run.cpuSeconds < 0.3, "\(arguments[0]) used \(run.cpuSeconds) s of CPU")
            figures.append("\(arguments[0]) \(String(format: "%.3f", run.cpuSeconds)) s")
        }
        withExtendedLifetime(silent) {}
        Stress.record("transport", "CPU of a 3 s wait for a silent server: \(figures.joined(separator: ", "))")
    }
}
