#if !B1CACHE_FUZZ
    @testable import B1Cache
#endif
import Foundation

// What must hold for every input to b1cache's decoders. Shared by the libFuzzer target (`Tests/Fuzz/`, which
// compiles this file into one module with the B1Cache sources and `-D B1CACHE_FUZZ`) and by
// `FuzzRegressionTests`, which replays the inputs the fuzzer once crashed on.
//
// Besides "never crashes, never hangs", an accepted input must re-encode to a fixed point (decoding what b1cache
// wrote gives back what it wrote, so a read-modify-write never drifts or refuses its own output), and what the
// commands do next with a decoded value (bump a revision, count an attempt, format a date) must not trap either.

/// The decoders, in the order of the selector byte that starts every fuzz input: the input's first byte modulo
/// six picks one (so `0`…`5` as ASCII digits pick them in order), the rest is the file's bytes.
enum FuzzTarget: UInt8, CaseIterable, Sendable {
    case json, envelope, manifest, write, writeFileName, lockOwner

    init(selector: UInt8) {
        self = FuzzTarget(rawValue: selector % UInt8(FuzzTarget.allCases.count)) ?? .json
    }
}

/// A property of a decoder that an input broke.
struct DecoderPropertyViolation: Error, CustomStringConvertible {
    var description: String
}

enum DecoderProperties {
    /// A path for error messages; the decoders never touch the disk.
    static let path = "/fuzz/input.json"

    /// Checks one fuzz input: selector byte, then the bytes handed to the chosen decoder.
    static func check(_ input: Data) throws {
        guard let selector = input.first else { return }
        let data = input.dropFirst()
        switch FuzzTarget(selector: selector) {
        case .json: try json(Data(data))
        case .envelope: try envelope(Data(data))
        case .manifest: try manifest(Data(data))
        case .write: try write(Data(data))
        case .writeFileName: try writeFileName(String(decoding: data, as: UTF8.self))
        case .lockOwner: try lockOwner(Data(data))
        }
    }

    static func json(_ data: Data) throws {
        guard let value = try? JSONParser.parse(data) else { return }
        let pretty = try? JSONParser.parse(JSONWriter.prettyData(value))
        try expect(pretty == value, "pretty JSON parses back to another value")
        let compact = try? JSONParser.parse(JSONWriter.compactString(value))
        try expect(compact == value, "compact JSON parses back to another value")
    }

    static func envelope(_ data: Data) throws {
        // Sync's reading (items kept as their bytes) accepts and refuses what `decode` does, and writes its bytes.
        func outcome(_ read: () throws -> Data) -> (bytes: Data?, error: String?) {
            do { return (try read(), nil) } catch { return (nil, "\(error)") }
        }
        let asBytes = outcome {
            let read = try Envelope.decodeEncoded(data, path: path)
            return try read.envelope.encoded(items: read.items.items)
        }
        let asTree = outcome { try Envelope.decode(data, path: path).encoded() }
        try expect(
            asBytes.bytes == asTree.bytes && asBytes.error == asTree.error,
            "reading an envelope's items as bytes differs from decode")
        guard var first = try? Envelope.decode(data, path: path) else { return }
        let written = first.encoded()
        guard let second = try? Envelope.decode(written, path: path, expected: first.collection) else {
            throw DecoderPropertyViolation(description: "an envelope b1cache wrote does not decode")
        }
        try expect(second.encoded() == written, "an envelope does not re-encode to the same bytes")
        _ = first.syncedAt.map { Timestamp.string($0) }
        first.revision += 1  // what every rewrite does (CacheStore.replaceEnvelopes)
    }

    static func manifest(_ data: Data) throws {
        guard let first = try? Manifest.decode(data, path: path) else { return }
        let written = first.encoded()
        guard let second = try? Manifest.decode(written, path: path) else {
            throw DecoderPropertyViolation(description: "a manifest b1cache wrote does not decode")
        }
        try expect(second.encoded() == written, "a manifest does not re-encode to the same bytes")
        for collection in CollectionName.allCases { _ = first.isStale(collection) }
        for state in first.collections.values { _ = state.syncedAt.map { Timestamp.age(of: $0) } }
        _ = first.lastSyncAllAt.map { Timestamp.age(of: $0) }
    }

    static func write(_ data: Data) throws {
        guard var first = try? PendingWrite.decode(data, path: path) else { return }
        let written = first.encoded()
        guard let second = try? PendingWrite.decode(written, path: path) else {
            throw DecoderPropertyViolation(description: "a write b1cache wrote does not decode")
        }
        try expect(second.encoded() == written, "a write does not re-encode to the same bytes")
        // What queue, flush --dry-run and show --with-pending do with a decoded write.
        _ = Timestamp.age(of: first.createdAt)
        _ = first.nextAttemptAt.map { Timestamp.string($0) }
        _ = PendingOverlay.apply([first], to: [], collection: first.kind.collection)
        first.attempts += 1  // what a failed send does (Flusher)
    }

    static func writeFileName(_ text: String) throws {
        guard let name = WriteFileName(fileName: text) else { return }
        let formatted = name.fileName
        try expect(WriteFileName(fileName: formatted) == name, "a write file name does not survive formatting")
        _ = Timestamp.age(of: name.createdAt)
    }

    static func lockOwner(_ data: Data) throws {
        guard let first = LockOwner.decode(data) else { return }
        guard let second = LockOwner.decode(first.encoded()) else {
            throw DecoderPropertyViolation(description: "an owner.json b1cache wrote does not decode")
        }
        try expect(second.isSameAcquisition(as: first), "an owner.json does not survive re-encoding")
        _ = first.summary
    }

    private static func expect(_ condition: Bool, _ violation: String) throws {
        if !condition { throw DecoderPropertyViolation(description: violation) }
    }
}
