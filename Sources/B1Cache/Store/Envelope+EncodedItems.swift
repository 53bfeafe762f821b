import Foundation

/// An envelope whose items are held as their encoded bytes (`EncodedItems`), for sync: read without building the
/// items' tree, merged by id, and written back with the unchanged items' bytes copied as they were. The file is
/// byte for byte what `encoded()` writes for the same envelope.
extension Envelope {
    /// Parses an envelope file's bytes as `decode` does (the same checks, the same errors), keeping the items as
    /// their bytes in `data`: an item whose bytes are not exactly the pretty writer's form (a hand-edited file) is
    /// parsed and encoded again, so the items always hold what `encoded()` would write. Returns the envelope with
    /// no items, and a merge holding them.
    /// - Throws: `StoreError.corrupt` (with line and column for bad JSON), `.newerSchema`.
    static func decodeEncoded(
        _ data: Data, path: String, expected: CollectionName? = nil
    ) throws -> (envelope: Envelope, items: ItemMerge<EncodedItems>) {
        var items = EncodedItems(file: data)
        var positions: [String: Int] = [:]
        var itemError: String?  // the first, reported after the other members are checked, as `decode` does
        var index = 0
        // A Result, not a typed throw, out of `withUnsafeBytes` (Swift 6.3 crashes on the typed-throws thunk).
        let parsed: Result<(value: JSONValue, occurrences: Int), JSONParseError> = data.withUnsafeBytes { bytes in
            do throws(JSONParseError) {
                return .success(
                    try JSONParser.parse(bytes, rawElementsOf: "items", indent: EncodedItems.indent) { element in
                        defer { index += 1 }
                        guard itemError == nil else { return }
                        guard let id = element.id else {
                            itemError = "item \(index) has no string 'id'"
                            return
                        }
                        guard positions[id] == nil else {
                            itemError = "item id '\(id)' appears more than once"
                            return
                        }
                        positions[id] =
                            element.value.map { items.append($0) } ?? items.appendEncoded(range: element.range)
                    })
            } catch {
                return .failure(error)
            }
        }
        let read: (value: JSONValue, occurrences: Int)
        switch parsed {
        case .success(let value): read = value
        case .failure(let error): throw StoreError.corrupt(path: path, reason: "not valid JSON (\(error))")
        }
        if read.occurrences > 1 {
            // Two `items` members: the last one counts; rare enough to read through the tree.
            let envelope = try decode(data, path: path, expected: expected)
            var header = envelope
            header.items = []
            return (header, ItemMerge(encoding: envelope.items))
        }
        let envelope = try header(of: read.value, path: path, expected: expected)
        if let itemError { throw StoreError.corrupt(path: path, reason: itemError) }
        return (envelope, ItemMerge(items, positions: positions))
    }

    /// Writes this envelope with `items` as its items (its own `items` are ignored) durably to `url`, streamed as in
    /// `write(to:)`; the bytes are those of `encoded()` for the same items. Returns the file's size.
    @discardableResult
    func write(to url: URL, items: EncodedItems) throws -> Int {
        let value = headerValue
        return try DurableFile.writeStreaming(to: url) { append in
            try JSONWriter.streamPretty(
                value, rawElementsOf: "items", elements: { try items.forEach($0) }, into: append)
        }
    }

    /// The file's bytes with `items` as its items (as `write(to:items:)` writes them).
    func encoded(items: EncodedItems) throws -> Data {
        var data = Data()
        try JSONWriter.streamPretty(headerValue, rawElementsOf: "items", elements: { try items.forEach($0) }) {
            data.append(contentsOf: $0)
        }
        return data
    }

    /// The stored object with an empty `items`.
    private var headerValue: JSONValue {
        var header = self
        header.items = []
        return header.value
    }
}

extension ItemMerge where Items == EncodedItems {
    /// A merge of no items, encoded as they come.
    init() { self.init(EncodedItems(), positions: [:]) }

    /// A merge of `values`, encoded (ids taken from them; items without one are skipped).
    init(encoding values: [JSONValue]) {
        var items = EncodedItems()
        var positions = [String: Int](minimumCapacity: values.count)
        for value in values {
            if let id = value["id"]?.stringValue { positions[id] = items.append(value) }
        }
        self.init(items, positions: positions)
    }
}
