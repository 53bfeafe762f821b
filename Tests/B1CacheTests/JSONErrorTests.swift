import B1Cache
import Foundation
import Testing

/// A failing `--json` command still prints one JSON object on stdout naming the error (docs/JSON.md), so
/// `b1cache sync --json | jq …` sees the failure instead of nothing.
@Suite(.perTestTimeLimit) final class JSONErrorTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    func expectJSONError(
        _ arguments: [String], _ environment: [String: String], root: URL? = nil, status: Int32,
        code: String, says text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let result = try CommandRunner.b1cache(
            arguments + ["--cache-dir", (root ?? cache).path], environment: environment,
            timeout: 60)
        #expect(result.status == status, "\(arguments): \(result.errorOutput)", sourceLocation: sourceLocation)
        let last = try #require(
            result.lines.last, "\(arguments) printed nothing on stdout", sourceLocation: sourceLocation)
        let error = try JSONParser.parse(last)["error"]
        #expect(error?["code"] == .string(code), "\(arguments): \(last)", sourceLocation: sourceLocation)
        #expect(error?["exitStatus"] == .integer(Int(status)), sourceLocation: sourceLocation)
        #expect(
            error?["message"]?.stringValue?.contains(text) == true, "\(arguments): \(last)",
            sourceLocation: sourceLocation)
        #expect(error?["hint"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        // jq reads it as written (what the README's one-liners rely on).
        let file = folder.path("answer.json")
        try Data(last.utf8).write(to: file)
        #expect(try CommandRunner.jq(".error.exitStatus", file) == "\(status)", sourceLocation: sourceLocation)
    }

    @Test func everyFailingJSONCommandPrintsAnErrorObject() throws {
        let online = server.environment()
        let offline = ["B1_SERVER_URL": "http://127.0.0.1:9", "B1_TOKEN": "b1-dev-token"]
        try expectJSONError(["flush", "--json"], offline, status: 4, code: "offline", says: "offline")
        try expectJSONError(["sync", "--json"], offline, status: 4, code: "offline", says: "offline")
        try expectJSONError(
            ["flush", "--json"], server.environment(token: "wrong"), status: 5, code: "unauthorized",
            says: "sign in")
        try expectJSONError(
            ["sync", "--json"], server.environment(token: "b1-other-token"), status: 5,
            code: "unauthorized", says: "this cache belongs to")
        try expectJSONError(
            ["enqueue", "contract.line-tax", "--payload", "{}", "--json"], [:], status: 2, code: "usage",
            says: "payload field")
        try expectJSONError(
            ["verify", "--json"], [:], root: folder.path("none"), status: 1,
            code: "failure", says: "there is no cache")
        try expectJSONError(["stauts", "--json"], [:], status: 2, code: "usage", says: "unknown command")
        let lock = CacheLock(paths: CachePaths(root: cache), command: "flush")
        try lock.withLock(wait: false) {
            try expectJSONError(["flush", "--json"], online, status: 6, code: "busy", says: "flush")
        }
    }
}
