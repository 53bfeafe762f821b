import B1Cache
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The reference server (Tests/ReferenceServer/server.py) as a real process on a free loopback port, with its
/// own database, stopped when the value goes away.
final class ReferenceServer: @unchecked Sendable {
    let process = Process()
    let url: URL
    let database: URL

    /// The token of the seeded account.
    let devToken: String

    /// - Parameter devToken: the seeded account's token (`--dev-token`); a unique one lets a test look for it on disk.
    init(seed: URL = Repository.sampleCache, database: URL, devToken: String = "b1-dev-token") throws {
        self.database = database
        self.devToken = devToken
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Repository.root.appendingPathComponent("Tests/ReferenceServer/server.py").path,
            "--port", "0", "--db", database.path, "--seed", seed.path, "--dev-token", devToken,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A server that never says where it listens would block this read forever: kill it, and the read ends.
        let started = Locked<Bool>()
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { [process] in
            if !started.isSet && process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        defer { started.set(true) }
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
            let url = URL(string: String(line.dropFirst("listening on ".count)))
        else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "server did not start: \(text)"])
        }
        self.url = url
    }

    deinit {
        // SIGKILL: a test server needs no graceful stop, and SIGTERM waits for open keep-alive connections.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Environment for b1cache to talk to this server with the sample account's token.
    func environment(token: String = "b1-dev-token") -> [String: String] {
        ["B1_SERVER_URL": url.absoluteString, "B1_TOKEN": token]
    }

    /// Calls an admin endpoint and returns the JSON answer.
    @discardableResult
    func admin(_ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
        try request(URLRequest(url: url.appendingPathComponent(path)), body: body)
    }

    /// Every item of a collection as the server holds it now (one full pull with the sample account's token).
    func items(_ collection: String, token: String = "b1-dev-token") throws -> [JSONValue] {
        guard let target = URL(string: "v1/collections/\(collection)?limit=5000", relativeTo: url) else { return [] }
        var request = URLRequest(url: target)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return try self.request(request, body: nil)["items"]?.arrayValue ?? []
    }

    /// The request targets (path and query) the server saw last, oldest first.
    func recentRequests() throws -> [String] {
        try admin("admin/stats")["recent"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    private func request(_ request: URLRequest, body: JSONValue?) throws -> JSONValue {
        var request = request
        request.httpMethod = body == nil ? "GET" : "POST"
        if let body { request.httpBody = Data(JSONWriter.compactString(body).utf8) }
        let result = Locked<Data>()
        let task = URLSession.shared.dataTask(with: request) { data, _, _ in result.set(data ?? Data()) }
        task.resume()
        while !result.isSet { usleep(2000) }
        return try JSONParser.parse(result.value ?? Data())
    }

    /// The ledger's rows (`GET /admin/ledger`), in the order the server first received each write id.
    func ledger() throws -> [JSONValue] { try admin("admin/ledger")["writes"]?.arrayValue ?? [] }

    /// The idempotency key of every request that carried the write `id`, oldest first (the `Idempotency-Key` header
    /// of `POST /v1/writes`, the write's id in a batch), each with the endpoint it came to.
    func requestKeys(of id: String) throws -> [(endpoint: String, key: String)] {
        let row = try ledger().first { $0["id"]?.stringValue == id }
        return (row?["requests"]?.arrayValue ?? []).map {
            ($0["endpoint"]?.stringValue ?? "", $0["key"]?.stringValue ?? "")
        }
    }

    /// How many times the server applied each write id.
    func appliedCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for write in try admin("admin/ledger")["writes"]?.arrayValue ?? [] {
            if let id = write["id"]?.stringValue { counts[id] = write["applied"]?.intValue ?? -1 }
        }
        return counts
    }
}
