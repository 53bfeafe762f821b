import Foundation

/// Writes `JSONValue`s as b1cache's files hold them: keys sorted, two-space indentation, `": "` between key
/// and value, non-ASCII text as-is — byte for byte what `json.dumps(v, indent=2, sort_keys=True,
/// ensure_ascii=False)` writes — or compact, one value per line, for JSON lines output.
public enum JSONWriter {
    /// The pretty form, ending in a newline, as stored on disk.
    public static func prettyData(_ value: JSONValue) -> Data {
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        writePretty(value, indent: 0, into: &output)
        output.append(0x0A)
        return Data(output)
    }

    /// The pretty form, ending in a newline, handed to `sink` in pieces of about `chunkSize` bytes as it is
    /// written, so a large file never exists whole in memory (the same bytes as `prettyData`). Returns the byte count.
    @discardableResult
    public static func streamPretty(
        _ value: JSONValue, chunkSize: Int = 1 << 20,
        into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        try withoutActuallyEscaping(sink) { sink in
            var stream = ChunkedOutput(chunkSize: chunkSize, sink: sink)
            try stream.pretty(value, indent: 0)
            stream.buffer.append(0x0A)
            try stream.flush()
            return stream.total
        }
    }

    /// `streamPretty` of a top-level object whose array member `key` is given as its elements' encoded bytes: each
    /// element, handed to `emit` by `elements` in order, must be its pretty form at indentation 2 (where the
    /// elements of a top-level member's array are), as `writePretty(element, indent: 2)` writes it. The bytes are
    /// then those of `prettyData` for the object holding those elements. Returns the byte count.
    @discardableResult
    public static func streamPretty(
        _ object: JSONValue, rawElementsOf key: String,
        elements: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        chunkSize: Int = 1 << 20, into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        try withoutActuallyEscaping(sink) { sink in
            var stream = ChunkedOutput(chunkSize: chunkSize, sink: sink)
            guard let members = object.objectValue?.members, !members.isEmpty else {
                try stream.pretty(object, indent: 0)
                stream.buffer.append(0x0A)
                try stream.flush()
                return stream.total
            }
            stream.buffer.append(0x7B)
            for (index, member) in members.enumerated() {
                if index > 0 { stream.buffer.append(0x2C) }
                newline(1, &stream.buffer)
                writeString(member.key, into: &stream.buffer)
                stream.buffer.append(contentsOf: [0x3A, 0x20])
                if member.key == key {
                    try stream.rawArray(elements, indent: 1)
                } else {
                    try stream.pretty(member.value, indent: 1)
                }
                if stream.buffer.count >= chunkSize { try stream.flush() }
            }
            newline(0, &stream.buffer)
            stream.buffer.append(contentsOf: [0x7D, 0x0A])
            try stream.flush()
            return stream.total
        }
    }

    /// The compact form on one line, without a newline (as `jq -c` prints).
    public static func compactString(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        writeCompact(value, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the pretty form of `value` at the given indentation level (no newline after it).
    public static func writePretty(_ value: JSONValue, indent: Int, into output: inout [UInt8]) {
        switch value {
        case .array(let elements):
            if elements.isEmpty { output.append(contentsOf: [0x5B, 0x5D]); return }
            output.append(0x5B)
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(0x2C) }
                newline(indent + 1, &output)
                writePretty(element, indent: indent + 1, into: &output)
            }
            newline(indent, &output)
            output.append(0x5D)
        case .object(let object):
            if object.members.isEmpty { output.append(contentsOf: [0x7B, 0x7D]); return }
            output.append(0x7B)
            var first = true
            for member in object.members {
                if !first { output.append(0x2C) }
                first = false
                newline(indent + 1, &output)
                writeString(member.key, into: &output)
                output.append(contentsOf: [0x3A, 0x20])
                writePretty(member.value, indent: indent + 1, into: &output)
            }
            newline(indent, &output)
            output.append(0x7D)
        default:
            writeScalar(value, into: &output)
        }
    }

    static func writeCompact(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .array(let elements):
            output.append(0x5B)
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(0x2C) }
                writeCompact(element, into: &output)
            }
            output.append(0x5D)
        case .object(let object):
            output.append(0x7B)
            var first = true
            for member in object.members {
                if !first { output.append(0x2C) }
                first = false
                writeString(member.key, into: &output)
                output.append(0x3A)
                writeCompact(member.value, into: &output)
            }
            output.append(0x7D)
        default:
            writeScalar(value, into: &output)
        }
    }

    fileprivate static func writeScalar(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): output.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): output.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .number(let text): output.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, into: &output)
        case .array, .object: writeCompact(value, into: &output)
        }
    }

    fileprivate static func newline(_ indent: Int, _ output: inout [UInt8]) {
        output.append(0x0A)
        for _ in 0..<(indent * 2) { output.append(0x20) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(0x22)
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                runStart = index + 1
                switch byte {
                case 0x22: output.append(contentsOf: [0x5C, 0x22])
                case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: output.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: output.append(contentsOf: [0x5C, 0x72])
                case 0x09: output.append(contentsOf: [0x5C, 0x74])
                case 0x08: output.append(contentsOf: [0x5C, 0x62])
                case 0x0C: output.append(contentsOf: [0x5C, 0x66])
                default:
                    output.append(contentsOf: [
                        0x5C, 0x75, 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
                    ])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        output.append(0x22)
    }
}

/// The buffer of `JSONWriter.streamPretty`: containers are walked here, every leaf and key is written by the same
/// functions as `writePretty`, and the buffer goes to the sink whenever it passes `chunkSize` between two elements.
private struct ChunkedOutput {
    let chunkSize: Int
    let sink: (UnsafeRawBufferPointer) throws -> Void
    var buffer: [UInt8] = []
    var total = 0

    init(chunkSize: Int, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.chunkSize = max(chunkSize, 1)
        self.sink = sink
        buffer.reserveCapacity(self.chunkSize + 64 * 1024)
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try sink($0) }
        total += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// An array at `indent` of elements given as their bytes (each already pretty at `indent + 1`).
    mutating func rawArray(
        _ elements: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void, indent: Int
    ) throws {
        var count = 0
        try elements { bytes in
            buffer.append(count == 0 ? 0x5B : 0x2C)
            JSONWriter.newline(indent + 1, &buffer)
            buffer.append(contentsOf: bytes)
            count += 1
            if buffer.count >= chunkSize { try flush() }
        }
        if count == 0 {
            buffer.append(contentsOf: [0x5B, 0x5D])
        } else {
            JSONWriter.newline(indent, &buffer)
            buffer.append(0x5D)
        }
    }

    mutating func pretty(_ value: JSONValue, indent: Int) throws {
        switch value {
        case .array(let elements) where !elements.isEmpty:
            buffer.append(0x5B)
            for (index, element) in elements.enumerated() {
                if index > 0 { buffer.append(0x2C) }
                JSONWriter.newline(indent + 1, &buffer)
                try pretty(element, indent: indent + 1)
                if buffer.count >= chunkSize { try flush() }
            }
            JSONWriter.newline(indent, &buffer)
            buffer.append(0x5D)
        case .object(let object) where !object.members.isEmpty:
            buffer.append(0x7B)
            var first = true
            for member in object.members {
                if !first { buffer.append(0x2C) }
                first = false
                JSONWriter.newline(indent + 1, &buffer)
                JSONWriter.writeString(member.key, into: &buffer)
                buffer.append(contentsOf: [0x3A, 0x20])
                try pretty(member.value, indent: indent + 1)
                if buffer.count >= chunkSize { try flush() }
            }
            JSONWriter.newline(indent, &buffer)
            buffer.append(0x7D)
        default:
            // Scalars and empty containers: exactly what the in-memory writer writes.
            JSONWriter.writePretty(value, indent: indent, into: &buffer)
        }
    }
}
