import Foundation

/// A collection's items held as their encoded bytes, each exactly what the envelope file holds for it (the pretty
/// form at `indent`), instead of as a `JSONValue` tree, which takes about 2.4 times the file's size.
///
/// Items read from an envelope file stay in that file's bytes (one `Data`, shared, no copy per item); items brought
/// by the server are encoded into chunks of about 1 MB, which grow without copying what they hold. So an
/// incremental pull of a 122 MB envelope holds about 122 MB plus what changed, and a full pull about the envelope's
/// size. A replaced item's old bytes stay until the items are dropped (a full pull that receives an id twice).
struct EncodedItems: MergeableItems, Sendable {
    /// The indentation of an item inside an envelope: members of the top-level object at 1, `items`' elements at 2.
    static let indent = 2
    /// Bytes per chunk of encoded items.
    static let chunkSize = 1 << 20

    /// Where one item's bytes are: in `file` (`chunk` −1) or in `chunks[chunk]`.
    private struct Slot {
        var chunk: Int32
        var start: Int
        var count: Int
    }

    private let file: Data
    private var chunks: [[UInt8]] = []
    private var slots: [Slot?] = []
    /// The encoding of the last item appended or compared, reused so that an item costs no allocation.
    private var scratch: [UInt8] = []
    /// Items held (holes not counted).
    private(set) var count = 0

    /// Items to be read from `file`, whose bytes they stay in (`appendEncoded(range:)`), or encoded.
    init(file: Data = Data()) { self.file = file }

    /// Adds an item whose bytes are `range` of `file`, already checked to be its encoded form. Returns its slot.
    @discardableResult
    mutating func appendEncoded(range: Range<Int>) -> Int {
        slots.append(Slot(chunk: -1, start: range.lowerBound, count: range.count))
        count += 1
        return slots.count - 1
    }

    mutating func append(_ item: JSONValue) -> Int {
        encode(item)
        slots.append(store())
        count += 1
        return slots.count - 1
    }

    mutating func replace(at index: Int, with item: JSONValue) -> Bool {
        encode(item)
        // The encoding is canonical (sorted keys, one spacing, one escaping), so equal bytes are an equal item.
        if let slot = slots[index], withBytes(of: slot, { $0.elementsEqual(scratch) }) { return false }
        if slots[index] == nil { count += 1 }
        slots[index] = store()
        return true
    }

    mutating func remove(at index: Int) {
        if slots[index] != nil { count -= 1 }
        slots[index] = nil
    }

    /// Items whose bytes are still those of the file read (not encoded again).
    var keptFromFile: Int { slots.reduce(0) { $0 + ($1.map { $0.chunk < 0 ? 1 : 0 } ?? 0) } }

    /// Hands each item's bytes to `body`, in order.
    func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try file.withUnsafeBytes { file in
            for case let slot? in slots {
                if slot.chunk < 0 {
                    try body(UnsafeRawBufferPointer(rebasing: file[slot.start..<(slot.start + slot.count)]))
                } else {
                    try chunks[Int(slot.chunk)].withUnsafeBytes {
                        try body(UnsafeRawBufferPointer(rebasing: $0[slot.start..<(slot.start + slot.count)]))
                    }
                }
            }
        }
    }

    /// The item in slot `index`, parsed from its bytes; nil for a hole.
    func value(at index: Int) -> Result<JSONValue, JSONParseError>? {
        guard index < slots.count, let slot = slots[index] else { return nil }
        return withBytes(of: slot) { JSONParser.parsing($0) }
    }

    private func withBytes<Result>(of slot: Slot, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let range = slot.start..<(slot.start + slot.count)
        if slot.chunk < 0 { return file.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) } }
        return chunks[Int(slot.chunk)].withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    private mutating func encode(_ item: JSONValue) {
        scratch.removeAll(keepingCapacity: true)
        JSONWriter.writePretty(item, indent: Self.indent, into: &scratch)
    }

    /// Copies `scratch` into the last chunk, or a new one when it does not fit; a chunk never grows past its
    /// capacity, so holding more items never copies those already held.
    private mutating func store() -> Slot {
        if chunks.isEmpty || chunks[chunks.count - 1].count + scratch.count > chunks[chunks.count - 1].capacity {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(max(Self.chunkSize, scratch.count))
            chunks.append(chunk)
        }
        let last = chunks.count - 1
        let slot = Slot(chunk: Int32(last), start: chunks[last].count, count: scratch.count)
        chunks[last].append(contentsOf: scratch)
        return slot
    }
}
