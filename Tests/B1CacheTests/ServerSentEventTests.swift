import B1Cache
import Foundation
import Testing

/// The `text/event-stream` parser of the change feed, fed as the network would: in pieces of any size.
@Suite struct ServerSentEventTests {
    static let feed =
        "id: c:12\nevent: change\ndata: {\"collection\":\"invoices\",\"cursor\":\"c:12\"}\n\n"
        + ": heartbeat\n\n"
        + "event: change\r\ndata: {\"collection\":\"contracts\",\r\ndata: \"cursor\":\"c:13\"}\r\nid: c:13\r\n\r\n"
        + "data: plain\rdata:  two spaces\r\r"
        + "event: other\ndata\n\n"
        + "event: change\n\n"  // no data: nothing dispatched

    func parse(_ text: String, pieceSize: Int) -> ([ServerSentEvent], String?) {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            events += parser.feed(bytes[start..<min(start + pieceSize, bytes.count)])
            start += pieceSize
        }
        return (events, parser.lastEventId)
    }

    @Test func everyWayOfCuttingTheStreamGivesTheSameEvents() {
        let (whole, lastId) = parse(Self.feed, pieceSize: Self.feed.utf8.count)
        #expect(
            whole == [
                ServerSentEvent(type: "change", data: #"{"collection":"invoices","cursor":"c:12"}"#, id: "c:12"),
                ServerSentEvent(
                    type: "change", data: "{\"collection\":\"contracts\",\n\"cursor\":\"c:13\"}", id: "c:13"),
                ServerSentEvent(type: "message", data: "plain\n two spaces", id: "c:13"),
                ServerSentEvent(type: "other", data: "", id: "c:13"),
            ])
        #expect(lastId == "c:13")
        for size in 1...40 { #expect(parse(Self.feed, pieceSize: size).0 == whole, "pieces of \(size) bytes") }
    }

    @Test func pokesAreChangeEventsOfKnownCollections() {
        let (events, _) = parse(Self.feed, pieceSize: 7)
        #expect(
            events.compactMap(ChangePoke.init) == [
                ChangePoke(collection: .invoices, cursor: "c:12"),
                ChangePoke(collection: .contracts, cursor: "c:13"),
            ])
        #expect(ChangePoke(ServerSentEvent(type: "change", data: #"{"collection":"nope"}"#)) == nil)
        #expect(ChangePoke(ServerSentEvent(type: "change", data: "not json")) == nil)
        #expect(
            ChangePoke(ServerSentEvent(type: "change", data: #"{"collection":"settings","extra":1}"#))
                == ChangePoke(collection: .settings, cursor: nil))
    }

    @Test func aByteOrderMarkIsSkippedAndAnOverlongLineIsDroppedWhole() {
        let (bom, _) = parse("\u{FEFF}data: a\n\n", pieceSize: 1)
        #expect(bom == [ServerSentEvent(data: "a")])
        let long = "data: " + String(repeating: "x", count: ServerSentEventParser.maximumLineBytes + 10) + "\n"
        let (events, _) = parse(long + "data: after\n\n", pieceSize: 1 << 16)
        #expect(events == [ServerSentEvent(data: "after")])
    }

    @Test func anIdWithNulIsIgnoredAndAnEmptyIdClearsIt() {
        let (events, lastId) = parse("id: a\u{0}b\ndata: x\n\nid\ndata: y\n\n", pieceSize: 3)
        #expect(events.map(\.id) == [nil, ""])
        #expect(lastId == "")
    }
}
