import B1Cache
import Foundation

/// The server and token for commands that go online: `--server` or `B1_SERVER_URL`, `--token-file` or `B1_TOKEN`.
/// The token is only ever held in memory, never written into the cache.
enum ServerOptions {
    static let options: Set<String> = ["--server", "--token-file", "--timeout", "--ca-file"]

    static func client(_ context: CommandContext) throws -> ServerClient {
        guard let url = try serverURL(context) else {
            throw UsageError(
                "no server: pass --server URL or set B1_SERVER_URL", hint: "e.g. --server http://127.0.0.1:8787")
        }
        let token: String
        if let file = context.arguments.value("--token-file") {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: (file as NSString).expandingTildeInPath)) else {
                throw UsageError("--token-file: cannot read \(file)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                throw UsageError(
                    "--token-file: \(file) is empty",
                    hint: "put the token in it (one line), or set B1_TOKEN")
            }
        } else {
            token = context.environment["B1_TOKEN"] ?? ""
        }
        guard !token.isEmpty else {
            throw UsageError("no token: set B1_TOKEN or pass --token-file FILE")
        }
        let timeout = try context.arguments.duration("--timeout") ?? 30
        return ServerClient(transport: .live(baseURL: url, token: token, timeout: timeout, caFile: try caFile(context)))
    }

    /// The server URL, or nil when neither `--server` nor `B1_SERVER_URL` is set.
    /// - Throws: `UsageError` naming where the URL came from when it is not an http(s) URL with a host and a port
    ///   from 1 to 65535 (`http://[::1]:8787` is one).
    static func serverURL(_ context: CommandContext) throws -> URL? {
        let flag = context.arguments.value("--server")
        guard let server = flag ?? context.environment["B1_SERVER_URL"], !server.isEmpty else { return nil }
        let source = flag != nil ? "--server" : "B1_SERVER_URL"
        let hint =
            "e.g. \(source == "--server" ? "--server " : "B1_SERVER_URL=")https://billing.example.com or "
            + "http://127.0.0.1:8787"
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), url.host?.isEmpty == false else {
            throw UsageError("\(source) '\(server)' is not a URL with a host", hint: hint)
        }
        guard ["http", "https"].contains(scheme) else {
            throw UsageError(
                "\(source) '\(server)': the scheme '\(scheme)' is not supported; use http:// or https://",
                hint: hint)
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw UsageError("\(source) '\(server)': port \(port) is out of range (1 to 65535)", hint: hint)
        }
        if url.query != nil || url.fragment != nil {
            throw UsageError("\(source) '\(server)': a server URL has no query or fragment", hint: hint)
        }
        return url
    }

    /// Where a CA file may be named, first match wins: ours, then the variables curl and OpenSSL users already set.
    static let caFileVariables = ["B1_CA_FILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]

    /// The CA file to trust instead of the system's: `--ca-file`, else the first of `caFileVariables` that is set,
    /// checked to be a readable PEM file (the error names where it came from).
    static func caFile(_ context: CommandContext) throws -> String? {
        var found = context.arguments.value("--ca-file").map { ("--ca-file", $0) }
        for name in caFileVariables where found == nil {
            if let value = context.environment[name], !value.isEmpty { found = (name, value) }
        }
        guard let (source, value) = found, !value.isEmpty else { return nil }
        let path = (value as NSString).expandingTildeInPath
        guard Transport.supportsCAFile else {
            // curl's and OpenSSL's variables are often set for the whole session; the URLSession transport uses the
            // system's store, so they are left to the tools they are meant for. Only our own is refused.
            if source == "CURL_CA_BUNDLE" || source == "SSL_CERT_FILE" { return nil }
            throw UsageError(
                "\(source): this build of b1cache cannot trust a CA file (it needs libcurl, libcurl.so.4)",
                hint: "add the CA to the system's trust store instead")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError(
                "\(source): cannot read '\(value)'",
                hint: "give the path of a PEM file of CA certificates")
        }
        guard String(decoding: data.prefix(1 << 20), as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            throw UsageError(
                "\(source): '\(value)' holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                hint: "convert a DER file with: openssl x509 -inform der -in CA.cer -out CA.pem")
        }
        return path
    }

    static let help = """
          --server URL           the BillingOne server (default: $B1_SERVER_URL); http:// or https://, IPv6 as
                                 http://[::1]:8787
          --token-file FILE      read the token from FILE (default: $B1_TOKEN); it is never written into the cache
          --timeout DURATION     the longest silence of the server, per request (default 30s)
          --ca-file FILE         trust the CA certificates in this PEM file instead of the system's, for a server
                                 behind a private CA (default: $B1_CA_FILE, else $CURL_CA_BUNDLE, else $SSL_CERT_FILE)
          Proxies: http_proxy, https_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY, as for curl.
        """
}
