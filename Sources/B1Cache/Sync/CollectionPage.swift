import Foundation

/// One answer of `GET /v1/collections/{name}` (SPEC §10): changed items, deleted ids, the cursor to continue from.
public struct CollectionPage: Sendable, Equatable {
    /// Items new or changed since the cursor (replace by id).
    public var items: [JSONValue]
    /// Ids deleted since the cursor.
    public var deleted: [String]
    /// The cursor to ask from next.
    public var cursor: String
    /// True when another page follows.
    public var hasMore: Bool
    /// False for a last-known snapshot (`settings`, `integrations`).
    public var complete: Bool

    /// Checks the page against the protocol: an answer that breaks it is refused whole, so nothing of it is
    /// merged into the cache.
    static func decode(_ body: JSONValue, collection: CollectionName, path: String) throws -> CollectionPage {
        func invalid(_ reason: String) -> ServerError { .invalidAnswer(path: path, reason: reason) }
        guard body.objectValue != nil else { throw invalid("the answer must be a JSON object") }
        if let named = body["collection"], named.stringValue != collection.rawValue {
            throw invalid("it holds collection \(named) instead of '\(collection.rawValue)'")
        }
        guard let items = body["items"]?.arrayValue else { throw invalid("'items' must be an array") }
        for (index, item) in items.enumerated() where item["id"]?.stringValue == nil {
            throw invalid("item \(index) is not an object with a string 'id'")
        }
        var deleted: [String] = []
        if let list = body["deleted"], !list.isNull {
            guard let array = list.arrayValue else { throw invalid("'deleted' must be an array of ids") }
            for id in array {
                guard let text = id.stringValue else { throw invalid("'deleted' must hold only string ids") }
                deleted.append(text)
            }
        }
        guard let cursor = body["cursor"]?.stringValue, !cursor.isEmpty else {
            throw invalid("'cursor' must be a non-empty string")
        }
        guard let hasMore = body["hasMore"]?.boolValue else { throw invalid("'hasMore' must be true or false") }
        let complete = body["complete"]?.boolValue ?? collection.isComplete
        return CollectionPage(items: items, deleted: deleted, cursor: cursor, hasMore: hasMore, complete: complete)
    }
}

extension ServerClient {
    /// Page sizes the reference server accepts; it caps larger ones at 5,000.
    public static let defaultPageSize = 1000

    /// `GET /v1/collections/{name}?since=CURSOR&limit=N`: a full pull's first page without `since`.
    /// - Throws: `ServerError.cursorExpired` for 410, `.unauthorized`, `.status`, `.invalidAnswer`; `TransportError`.
    public func pull(_ collection: CollectionName, since cursor: String?, limit: Int) async throws -> CollectionPage {
        var query = "limit=\(limit)"
        if let cursor {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&+=#")
            query = "since=\(cursor.addingPercentEncoding(withAllowedCharacters: allowed) ?? cursor)&" + query
        }
        let path = "/v1/collections/\(collection.rawValue)?\(query)"
        let response = try await transport.send(HTTPRequest(method: "GET", path: path))
        if response.status == 410 { throw ServerError.cursorExpired(collection: collection.rawValue) }
        try Self.check(response, path: path)
        return try CollectionPage.decode(try Self.parse(response, path: path), collection: collection, path: path)
    }
}

extension ItemMerge {
    /// Applies one page: its items first, then its deleted ids (an id is in one of the two within a page).
    mutating func apply(_ page: CollectionPage) { apply(items: page.items, deleted: page.deleted) }
}
