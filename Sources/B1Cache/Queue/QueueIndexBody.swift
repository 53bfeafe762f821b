import Foundation

/// The lines of `queue-index.jsonl` as bytes, parsed only where asked: which listed file each line is about
/// (`cover`), and the lines that mention a key or an item. A look-up then costs one scan of the bytes (a few
/// milliseconds at 20,000 writes) and the parse of the few lines it finds, not the parse of every line.
struct QueueIndexBody {
    /// One line: its bytes (without the newline) and the file size it gives.
    struct Line {
        var range: Range<Int>
        var size: Int64
    }

    private let bytes: [UInt8]
    /// The file's header (its last line), read with the lines, so the two describe the same moment.
    let header: QueueIndex.Header

    /// The index of `paths`, or nil when there is none of this schema.
    static func load(_ paths: CachePaths) -> QueueIndexBody? {
        guard let data = try? System.readFile(paths.queueIndex.path, limit: QueueIndex.maximumFileSize),
            let header = QueueIndex.header(of: data)
        else { return nil }
        return QueueIndexBody(bytes: [UInt8](data), header: header)
    }

    private init(bytes: [UInt8], header: QueueIndex.Header) {
        self.bytes = bytes
        self.header = header
    }

    /// How many lines the file has (headers and lines of writes gone included): what a whole rewrite would drop.
    var lineCount: Int { bytes.withUnsafeBufferPointer { $0.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } } }

    /// For each of `names` (sorted, as listed), the line about it, or nil when the index has none: one walk over
    /// both, lines and names in the same order, comparing bytes (no string is made per line). A line is matched
    /// only to a name of exactly its bytes; a line out of that order is skipped, which only costs reading a file.
    func cover(_ names: [String]) -> [Line?] {
        var result: [Line?] = []
        result.reserveCapacity(names.count)
        var start = 0  // headers (`{…}` lines) are skipped with anything else that is not a write's line
        var current = nextLine(from: &start)
        for name in names {
            var found: Line?
            while let line = current {
                let order = compare(line.name, name)
                if order < 0 {
                    current = nextLine(from: &start)
                    continue
                }
                if order == 0 {
                    found = Line(range: line.range, size: line.size)
                    current = nextLine(from: &start)
                }
                break
            }
            result.append(found)
        }
        return result
    }

    private func nextLine(from start: inout Int) -> (name: Range<Int>, range: Range<Int>, size: Int64)? {
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            defer { start = end + 1 }
            if let parts = Self.nameAndSize(in: bytes[start..<end]) { return (parts.name, start..<end, parts.size) }
        }
        return nil
    }

    /// Byte order of a line's name against a listed name.
    private func compare(_ range: Range<Int>, _ name: String) -> Int {
        var utf8 = name.utf8.makeIterator()
        for byte in bytes[range] {
            guard let other = utf8.next() else { return 1 }
            if byte != other { return byte < other ? -1 : 1 }
        }
        return utf8.next() == nil ? 0 : -1
    }

    /// The file name a line is about.
    func name(of line: Line) -> String? {
        Self.nameAndSize(in: bytes[line.range]).map { String(decoding: bytes[$0.name], as: UTF8.self) }
    }

    /// The file name and size a line starts with (`["NAME",SIZE,`); nil for a line that is not plain (escapes
    /// are parsed in `facts`, never guessed at here).
    private static func nameAndSize(in line: ArraySlice<UInt8>) -> (name: Range<Int>, size: Int64)? {
        let quote = UInt8(ascii: "\"")
        guard line.count > 2, line[line.startIndex] == UInt8(ascii: "["), line[line.startIndex + 1] == quote else {
            return nil
        }
        let from = line.startIndex + 2
        guard let to = line[from...].firstIndex(of: quote), !line[from..<to].contains(UInt8(ascii: "\\")),
            to + 1 < line.endIndex, line[to + 1] == UInt8(ascii: ",")
        else { return nil }
        var size: Int64 = 0
        var digit = to + 2
        while digit < line.endIndex, line[digit] >= UInt8(ascii: "0"), line[digit] <= UInt8(ascii: "9"),
            digit - to < 20
        {
            size = size * 10 + Int64(line[digit] - UInt8(ascii: "0"))
            digit += 1
        }
        guard digit > to + 2, digit < line.endIndex, line[digit] == UInt8(ascii: ",") else { return nil }
        return (from..<to, size)
    }

    /// The facts a line gives; nil when it is not a line b1cache writes.
    func facts(of line: Line) -> QueueIndex.Facts? { QueueIndex.parseLine(Data(bytes[line.range]))?.facts }

    /// Every line about a write file, in order (headers and lines that do not parse left out).
    func writeLines() -> [Line] {
        var result: [Line] = []
        var start = 0
        while let line = nextLine(from: &start) { result.append(Line(range: line.range, size: line.size)) }
        return result
    }

    /// A line's collection and target ids (its last two fields), read without a parse for a line with no escape in
    /// it (every string between plain quotes); a line with one is parsed whole (`facts`).
    func targets(of line: Line) -> (collection: String, ids: [String])? {
        let slice = bytes[line.range]
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        guard !slice.contains(backslash) else {
            return facts(of: line).map { ($0.collection, $0.targetIds) }
        }
        var depth = 0
        var field = 0
        var collection: String?
        var ids: [String] = []
        var index = slice.startIndex
        while index < slice.endIndex {
            let byte = slice[index]
            if byte == quote {
                guard let end = slice[(index + 1)...].firstIndex(of: quote) else { return nil }
                let text = String(decoding: slice[(index + 1)..<end], as: UTF8.self)
                if depth == 1 && field == 5 { collection = text }
                if depth == 2 && field == 6 { ids.append(text) }
                index = end + 1
                continue
            }
            if byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "]") { depth -= 1 }
            if byte == UInt8(ascii: ",") && depth == 1 { field += 1 }
            index += 1
        }
        guard field == 6, depth == 0, let collection else { return nil }
        return (collection, ids)
    }

    /// A line's bytes, to copy into the next index unchanged.
    func bytes(of line: Line) -> ArraySlice<UInt8> { bytes[line.range] }

    /// The lines that contain `text` as a JSON string (its quotes included), by where they start.
    func lines(mentioning text: String) -> [Int: Line] {
        let needle = Array(JSONWriter.compactString(.string(text)).utf8)
        guard let first = needle.first else { return [:] }
        var found: [Int: Line] = [:]
        bytes.withUnsafeBufferPointer { buffer in
            var position = 0
            let last = buffer.count - needle.count
            while position <= last {
                guard buffer[position] == first else {
                    position += 1
                    continue
                }
                var matches = true
                for offset in 1..<needle.count where buffer[position + offset] != needle[offset] {
                    matches = false
                    break
                }
                if matches {
                    var start = position
                    while start > 0 && buffer[start - 1] != UInt8(ascii: "\n") { start -= 1 }
                    var end = position
                    while end < buffer.count && buffer[end] != UInt8(ascii: "\n") { end += 1 }
                    if let parts = Self.nameAndSize(in: bytes[start..<end]) {
                        found[start] = Line(range: start..<end, size: parts.size)
                    }
                    position = end
                } else {
                    position += 1
                }
            }
        }
        return found
    }
}
