import B1Cache
import Foundation
import Testing

/// The library's `Syncer` against scripted answers: what a server that breaks the protocol cannot do to the cache.
@Suite(.perTestTimeLimit) final class SyncerTests {
    let folder = TemporaryFolder()
    lazy var paths = CachePaths(root: folder.path("cache"))

    /// A transport answering the session and health as the sample account, and collection pulls with `page`.
    func syncer(_ page: @escaping @Sendable (String) -> String) -> Syncer {
        let transport = Transport { request in
            if request.path == "/v1/session" {
                return HTTPResponse(
                    status: 200, body: Data(#"{"orgId":"org_1","userId":"usr_1","email":"a@example.com"}"#.utf8))
            }
            return HTTPResponse(status: 200, body: Data(page(request.path).utf8))
        }
        var options = SyncOptions()
        options.collections = [.clients]
        options.flushFirst = false
        return Syncer(paths: paths, client: ServerClient(transport: transport), options: options)
    }

    @Test func pagesAreMergedInOrderAndADeletedThenRecreatedItemSurvives() async throws {
        let report = try await syncer { path in
            if !path.contains("since=") {
                return
                    #"{"collection":"clients","items":[{"id":"a","v":1},{"id":"b","v":1}],"deleted":[],"cursor":"c:2","hasMore":true}"#
            }
            if path.contains("since=c:2&") {
                return
                    #"{"collection":"clients","items":[{"id":"c","v":1}],"deleted":["a"],"cursor":"c:4","hasMore":true}"#
            }
            return
                #"{"collection":"clients","items":[{"id":"a","v":2},{"id":"b","v":2}],"deleted":["zz"],"cursor":"c:6","hasMore":false}"#
        }.run()
        #expect(report.pulledEverything)
        #expect(report.collections.first?.pages == 3)
        let envelope = try #require(try CacheStore(paths: paths).envelope(for: .clients))
        #expect(
            envelope.items.map { JSONWriter.compactString($0) } == [
                #"{"id":"b","v":2}"#, #"{"id":"c","v":1}"#, #"{"id":"a","v":2}"#,
            ])
        #expect(envelope.cursor == "c:6")
        #expect(try CacheStore(paths: paths).manifest().lastSyncAllAt == nil)  // not every collection was pulled
    }

    @Test(arguments: [
        #"{"collection":"clients","items":[{"v":1}],"deleted":[],"cursor":"c:1","hasMore":false}"#,
        #"{"collection":"clients","items":[1],"deleted":[],"cursor":"c:1","hasMore":false}"#,
        #"{"collection":"invoices","items":[],"deleted":[],"cursor":"c:1","hasMore":false}"#,
        #"{"collection":"clients","items":[],"deleted":[7],"cursor":"c:1","hasMore":false}"#,
        #"{"collection":"clients","items":[],"deleted":[],"hasMore":false}"#,
        #"{"collection":"clients","items":[],"deleted":[],"cursor":"c:1","hasMore":"no"}"#,
        #"{"collection":"clients","items":{},"deleted":[],"cursor":"c:1","hasMore":false}"#,
        #"{"collection":"clients","items":[],"deleted":[],"cursor":"c:1","hasMore":true}"#,
        #"[]"#, #"{"collection":"clients","items":[{"id":"x"}"#, "",
    ])
    func anAnswerThatBreaksTheProtocolFailsThatCollectionAndWritesNothing(_ body: String) async throws {
        try CacheRoot.prepare(paths)
        let before = try snapshotFiles(under: paths.root)
        // The `hasMore: true` case moves the cursor once, then claims more forever without moving it.
        let report = try await syncer { _ in body }.run()
        let result = try #require(report.collections.first)
        #expect(result.error?.contains("not valid") == true, "\(String(describing: result.error))")
        #expect(try CacheStore(paths: paths).envelope(for: .clients) == nil)
        var after = try snapshotFiles(under: paths.root)
        after["manifest.json"] = nil  // the first contact records the account, nothing else
        #expect(after == before)
    }
}
