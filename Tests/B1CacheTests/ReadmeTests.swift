import B1Cache
import Foundation
import Testing

/// Every `jq` one-liner of the README runs as written, with bash, on a copy of SampleCache (the reference server
/// behind the commands that need one), and again on a cache whose queue is empty.
@Suite(.perTestTimeLimit) final class ReadmeTests {
    let folder = TemporaryFolder()
    let server: ReferenceServer

    init() throws {
        server = try ReferenceServer(database: folder.path("server.db"))
    }

    /// The README's shell lines that use jq, continuation lines joined, in order.
    static func jqLines() throws -> [String] {
        let readme = try String(contentsOf: Repository.root.appendingPathComponent("README.md"), encoding: .utf8)
        var lines: [String] = []
        var inShell = false
        var pending = ""
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                inShell = line == "```sh"
                continue
            }
            guard inShell else { continue }
            let joined = pending + line
            if joined.hasSuffix("\\") {
                pending = String(joined.dropLast()) + " "
                continue
            }
            pending = ""
            if joined.contains("jq ") || joined.hasPrefix("cache=") { lines.append(joined) }
        }
        return lines
    }

    func run(_ line: String, cache: URL) throws -> CommandResult {
        let home = folder.path("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let binaries = CommandRunner.binary.deletingLastPathComponent().path
        var environment = server.environment()
        environment["B1CACHE_DIR"] = cache.path
        environment["HOME"] = home.path
        environment["PATH"] = binaries + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        // `cache=$(b1cache path)` is the README's own first line of the block that reads the files.
        return try CommandRunner.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", "cache=$(b1cache path)\n" + line],
            environment: environment, timeout: 60)
    }

    func expectAllRun(on cache: URL) throws {
        let lines = try Self.jqLines()
        #expect(lines.count >= 10, "the README's jq lines were not found: \(lines)")
        for line in lines {
            let result = try run(line, cache: cache)
            #expect(result.status == 0, "\(line)\n\(result.errorOutput)")
            #expect(!result.errorOutput.contains("jq: error"), "\(line)\n\(result.errorOutput)")
            #expect(!result.errorOutput.contains("No such file"), "\(line)\n\(result.errorOutput)")
        }
    }

    @Test func everyJqLineRunsOnTheSampleCache() throws {
        try expectAllRun(on: try Repository.copySampleCache(to: folder.path("cache")))
    }

    @Test func everyJqLineRunsOnACacheWithAnEmptyQueue() throws {
        let cache = try Repository.copySampleCache(to: folder.path("empty-queue"))
        for place in ["queue", "failed"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent(place).path)
            where name.hasSuffix(".json") {
                try FileManager.default.removeItem(at: cache.appendingPathComponent("\(place)/\(name)"))
            }
        }
        try expectAllRun(on: cache)
    }
}
