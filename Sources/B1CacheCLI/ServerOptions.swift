import B1Cache
import Foundation

/// The server and token for commands that go online: `--server` or `B1_SERVER_URL`, `--token-file` or `B1_TOKEN`.
/// The token is only ever held in memory, never written into the cache.
enum ServerOptions {
    static let options: Set<String> = ["--server", "--token-file", "--timeout"]

    static func client(_ context: CommandContext) throws -> ServerClient {
        guard let url = try serverURL(context) else {
            throw UsageError("no server: pass --server URL or set B1_SERVER_URL", hint: "e.g. --server http://127.0.0.1:8787")
        }
        let token: String
        if let file = context.arguments.value("--token-file") {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: (file as NSString).expandingTildeInPath)) else {
                throw UsageError("--token-file: cannot read \(file)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                throw UsageError("--token-file: \(file) is empty",
                                 hint: "put the token in it (one line), or set B1_TOKEN")
            }
        } else {
            token = context.environment["B1_TOKEN"] ?? ""
        }
        guard !token.isEmpty else {
            throw UsageError("no token: set B1_TOKEN or pass --token-file FILE")
        }
        let timeout = try context.arguments.duration("--timeout") ?? 30
        return ServerClient(transport: .live(baseURL: url, token: token, timeout: timeout))
    }

    /// The server URL, or nil when neither `--server` nor `B1_SERVER_URL` is set.
    /// - Throws: `UsageError` when it is set but not an http(s) URL.
    static func serverURL(_ context: CommandContext) throws -> URL? {
        guard let server = context.arguments.value("--server") ?? context.environment["B1_SERVER_URL"], !server.isEmpty else {
            return nil
        }
        guard let url = URL(string: server), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw UsageError("--server '\(server)' is not an http(s) URL")
        }
        return url
    }

    static let help = """
      --server URL           the BillingOne server (default: $B1_SERVER_URL)
      --token-file FILE      read the token from FILE (default: $B1_TOKEN); it is never written into the cache
      --timeout DURATION     per request (default 30s)
    """
}
