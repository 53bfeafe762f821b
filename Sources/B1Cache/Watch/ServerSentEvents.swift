import Foundation

/// One event of a `text/event-stream` (WHATWG HTML, "Server-sent events").
public struct ServerSentEvent: Sendable, Equatable {
    /// The `event:` field; "message" when the event named none.
    public var type: String
    /// The `data:` lines, joined with "\n".
    public var data: String
    /// The last event id seen so far in the stream (an `id:` field of this or an earlier event), if any.
    public var id: String?

    /// An event as the parser delivers it.
    public init(type: String = "message", data: String, id: String? = nil) {
        self.type = type
        self.data = data
        self.id = id
    }
}

/// An incremental parser of `text/event-stream`: feed it bytes as they arrive, in pieces of any size (an event, a
/// line or a UTF-8 character may be split across two pieces), and take the events each piece completes.
///
/// As the standard says: lines end with CR LF, LF or CR; a line starting with ':' is a comment (heartbeats); a
/// blank line dispatches the event being built, if it has data; `data` lines are joined with LF; a field named
/// in a line without a colon has an empty value; one space after the colon is dropped; an `id` holding NUL is
/// ignored; `retry` and unknown fields are ignored. A leading byte-order mark is skipped. A line longer than
/// `maximumLineBytes` is dropped whole (a hostile server cannot make the parser hold more than that).
public struct ServerSentEventParser: Sendable {
    /// The longest line accepted (1 MiB); a longer one ends the stream as broken.
    public static let maximumLineBytes = 1 << 20

    private var line: [UInt8] = []
    private var lineTooLong = false
    private var afterCarriageReturn = false
    private var atStart = true
    private var data: [String] = []
    private var type = ""
    /// The id to resume from (`Last-Event-ID`).
    public private(set) var lastEventId: String?

    /// A parser at the start of a stream.
    public init() {}

    /// Parses `bytes` and returns the events they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if byte == 0x0A && afterCarriageReturn {
                afterCarriageReturn = false
                continue
            }
            afterCarriageReturn = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let event = endLine() { events.append(event) }
            } else if line.count < Self.maximumLineBytes {
                line.append(byte)
            } else {
                lineTooLong = true
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer {
            line.removeAll(keepingCapacity: line.count < 4096)
            lineTooLong = false
        }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        guard !lineTooLong else { return nil }
        if line.isEmpty { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "data": data.append(String(value))
        case "event": type = String(value)
        case "id" where !value.contains("\u{0}"): lastEventId = String(value)
        default: break
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data = []
            type = ""
        }
        guard !data.isEmpty else { return nil }
        return ServerSentEvent(
            type: type.isEmpty ? "message" : type, data: data.joined(separator: "\n"),
            id: lastEventId)
    }
}

/// A poke of the change feed (docs/PROTOCOL.md, `GET /v1/events`): `collection` changed, up to `cursor`.
public struct ChangePoke: Sendable, Equatable {
    /// The collection that changed.
    public var collection: CollectionName
    /// The server's cursor after the change, when it sent one.
    public var cursor: String?

    /// A poke.
    public init(collection: CollectionName, cursor: String?) {
        self.collection = collection
        self.cursor = cursor
    }

    /// The poke an event carries: a `change` event whose data names a known collection; nil for anything else
    /// (other types, unknown collections, data that is not JSON), which clients ignore so the feed can grow.
    public init?(_ event: ServerSentEvent) {
        guard event.type == "change", let object = try? JSONParser.parse(Data(event.data.utf8)),
            let name = object["collection"]?.stringValue, let collection = CollectionName(rawValue: name)
        else { return nil }
        self.init(collection: collection, cursor: object["cursor"]?.stringValue)
    }
}
