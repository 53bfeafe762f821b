import Foundation

/// A helper process (a server, a proxy) that lives as long as the value, SIGKILLed when it goes away.
final class BackgroundProcess: @unchecked Sendable {
    let process = Process()
    /// The first line the process printed, when `readFirstLine` (a free port, say).
    private(set) var firstLine = ""

    init(_ executable: String, _ arguments: [String], readFirstLine: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe()
        process.standardOutput = readFirstLine ? output : FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        guard readFirstLine else { return }
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        firstLine = String(text.split(separator: "\n").first ?? "")
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Small network helpers for the transport tests: free ports, a silent server, nginx, tinyproxy, a private CA.
enum NetworkTools {
    /// The path of a program found on PATH or in the sbin folders (nginx lives in /usr/sbin), or nil.
    static func find(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func python(_ script: String, _ arguments: [String] = []) throws -> CommandResult {
        try CommandRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments)
    }

    /// A port nothing listens on now (bound and released; a test uses it at once).
    static func freePort(host: String = "127.0.0.1") throws -> Int {
        let family = host.contains(":") ? "AF_INET6" : "AF_INET"
        let result = try python(
            "import socket; s = socket.socket(socket.\(family)); s.bind(('\(host)', 0)); "
                + "print(s.getsockname()[1])")
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Waits (up to 10 s) until something accepts connections on the port; false if nothing did.
    static func waitForPort(_ port: Int, host: String = "127.0.0.1") throws -> Bool {
        let script = """
            import socket, sys, time
            for _ in range(200):
                try:
                    socket.create_connection(('\(host)', \(port)), timeout=1).close()
                    sys.exit(0)
                except OSError:
                    time.sleep(0.05)
            sys.exit(1)
            """
        return try python(script).status == 0
    }

    /// A server that accepts connections and never answers; its URL is `http://127.0.0.1:PORT`.
    static func silentServer() throws -> (BackgroundProcess, URL) {
        let script = """
            import socket, sys
            s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(64)
            print(s.getsockname()[1], flush=True)
            held = []
            while True:
                held.append(s.accept()[0])
            """
        let server = try BackgroundProcess("python3", ["-c", script], readFirstLine: true)
        guard let url = URL(string: "http://127.0.0.1:\(server.firstLine)") else { throw CocoaError(.fileReadUnknown) }
        return (server, url)
    }

    /// A private CA and a certificate it signed for `localhost`, 127.0.0.1 and ::1, made with openssl in `folder`.
    /// Returns the CA certificate, the server certificate and its key.
    static func makeCertificates(in folder: URL) throws -> (ca: URL, certificate: URL, key: URL) {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = { (name: String) in folder.appendingPathComponent(name).path }
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n".utf8)
            .write(to: folder.appendingPathComponent("ext.cnf"))
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"),
                "-days", "2", "-subj", "/CN=b1cache test CA",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
                "-subj", "/CN=localhost",
            ],
            [
                "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", path("ext.cnf"),
            ],
        ]
        for step in steps {
            let result = try CommandRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + step)
            guard result.status == 0 else {
                throw CocoaError(
                    .fileWriteUnknown,
                    userInfo: [NSLocalizedDescriptionKey: "openssl: \(result.errorOutput)"])
            }
        }
        return (
            folder.appendingPathComponent("ca.pem"), folder.appendingPathComponent("server.pem"),
            folder.appendingPathComponent("server.key")
        )
    }

    /// nginx in front of `upstream`, listening on `listen` (`127.0.0.1:PORT` or `[::1]:PORT`), with TLS when a
    /// certificate is given. One process (`master_process off`), so it needs no other user and no shared folder.
    static func nginx(
        in folder: URL, listen: String, upstream: URL, tls: (certificate: URL, key: URL)?,
        port: Int, host: String
    ) throws -> BackgroundProcess? {
        guard let nginx = find("nginx") else { return nil }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = { (name: String) in folder.appendingPathComponent(name).path }
        let tlsLines = tls.map { "ssl_certificate \($0.certificate.path); ssl_certificate_key \($0.key.path);" } ?? ""
        let config = """
            daemon off; master_process off; pid \(path("nginx.pid")); error_log \(path("error.log"));
            events { worker_connections 64; }
            http {
              access_log \(path("access.log"));
              client_body_temp_path \(path("body")); proxy_temp_path \(path("proxy"));
              fastcgi_temp_path \(path("fastcgi")); uwsgi_temp_path \(path("uwsgi")); scgi_temp_path \(path("scgi"));
              server {
                listen \(listen)\(tls == nil ? "" : " ssl");
                \(tlsLines)
                client_max_body_size 100m;
                location / { proxy_pass \(upstream.absoluteString); proxy_buffering off; }
              }
            }
            """
        try Data(config.utf8).write(to: folder.appendingPathComponent("nginx.conf"))
        let process = try BackgroundProcess(
            nginx,
            [
                "-p", folder.path, "-e", path("error.log"),
                "-c", path("nginx.conf"),
            ])
        guard try waitForPort(port, host: host) else { return nil }
        return process
    }

    /// tinyproxy on a free port of 127.0.0.1, logging every request to `folder/tinyproxy.log`.
    static func tinyproxy(in folder: URL) throws -> (BackgroundProcess, port: Int, log: URL)? {
        guard let tinyproxy = find("tinyproxy") else { return nil }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try freePort()
        let log = folder.appendingPathComponent("tinyproxy.log")
        let config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            LogFile "\(log.path)"
            LogLevel Info
            MaxClients 20
            Allow 127.0.0.1
            """
        try Data(config.utf8).write(to: folder.appendingPathComponent("tinyproxy.conf"))
        let configuration = folder.appendingPathComponent("tinyproxy.conf").path
        let process = try BackgroundProcess(tinyproxy, ["-d", "-c", configuration])
        guard try waitForPort(port) else { return nil }
        return (process, port, log)
    }
}
