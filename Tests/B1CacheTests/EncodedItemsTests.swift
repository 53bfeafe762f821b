@testable import B1Cache
import Foundation
import Testing

/// Sync holds items as their encoded bytes (`EncodedItems`, `Envelope.decodeEncoded`, `write(to:items:)`): the file
/// it writes must be byte for byte what `Envelope.encoded()` writes for the same envelope, whatever the items hold
/// and however the file read was laid out, and reading must accept and refuse exactly what `Envelope.decode` does.
@Suite struct EncodedItemsTests {
    let folder = TemporaryFolder()

    /// What sync writes after reading `data`: its items' bytes, or the error.
    func rewritten(_ data: Data) -> Result<Data, StoreError> {
        Result {
            let read = try Envelope.decodeEncoded(data, path: "x.json")
            return try read.envelope.encoded(items: read.items.items)
        }.mapError { $0 as? StoreError ?? .corrupt(path: "x.json", reason: "\($0)") }
    }

    /// What `encoded()` writes after `decode` of `data`, or the error.
    func reference(_ data: Data) -> Result<Data, StoreError> {
        Result { try Envelope.decode(data, path: "x.json").encoded() }
            .mapError { $0 as? StoreError ?? .corrupt(path: "x.json", reason: "\($0)") }
    }

    @Test func sampleCacheEnvelopesAreKeptByteForByteWithoutReencoding() throws {
        let collections = Repository.sampleCache.appendingPathComponent("collections")
        for name in try FileManager.default.contentsOfDirectory(atPath: collections.path).sorted() {
            let data = try Data(contentsOf: collections.appendingPathComponent(name))
            let read = try Envelope.decodeEncoded(data, path: name)
            let decoded = try Envelope.decode(data, path: name)
            #expect(try read.envelope.encoded(items: read.items.items) == decoded.encoded(), "\(name)")
            #expect(read.items.items.count == decoded.items.count)
            #expect(read.items.items.keptFromFile == decoded.items.count, "\(name): an item was parsed again")
            var header = decoded
            header.items = []
            #expect(read.envelope == header, "\(name)")
        }
    }

    /// Items with what a writer could get wrong: escapes, control characters, non-ASCII, number forms, nesting,
    /// empty containers, keys that sort around `id`; and top-level members before and after `items`.
    static func unusualEnvelope(count: Int, seed: UInt64) -> Envelope {
        var random = SplitMix(seed: seed)
        let strings = [
            "", "plain", "quote \" and backslash \\", "slash / stays", "tab\tnew\nline\rcr", "\u{08}\u{0C}",
            "\u{00}\u{01}\u{1F}\u{7F}", "Müller & Søn", "日本語", "emoji 🧾👍🏽", "e\u{301} combining", "\u{2028}\u{2029}",
            "\u{FFFE}", String(repeating: "long ", count: 40),
        ]
        let numbers = ["0", "-0", "12.50", "1e+10", "1E-5", "-3.25e2", "123456789012345678901234567890", "7"]
        func value(_ depth: Int) -> JSONValue {
            switch random.next() % (depth > 2 ? 5 : 8) {
            case 0: return .null
            case 1: return .bool(random.next() % 2 == 0)
            case 2: return .number(numbers[Int(random.next() % UInt64(numbers.count))])
            case 3, 4: return .string(strings[Int(random.next() % UInt64(strings.count))])
            case 5: return .array((0..<Int(random.next() % 4)).map { _ in value(depth + 1) })
            case 6: return .object(JSONObject())
            default:
                var object = JSONObject()
                for key in ["a", "Z", "é", "ключ", "a b", "\"q\"", "x\ny"].prefix(Int(random.next() % 5)) {
                    object[key] = value(depth + 1)
                }
                return .object(object)
            }
        }
        var envelope = Envelope(collection: .invoices, revision: 7, cursor: "c:42")
        envelope.syncedAt = Date(timeIntervalSince1970: 1_790_000_000)
        envelope.items = (0..<count).map { index in
            var item: JSONObject = ["id": .string(index == 3 ? "inv ü \(index)" : "inv_\(index)")]
            for key in ["", "amount", "hi", "ia", "idx", "ID", "z\u{7F}"] where random.next() % 2 == 0 {
                item[key] = value(0)
            }
            return .object(item)
        }
        envelope.otherMembers = ["aaa": 1, "item": ["nested": [1, 2]], "itemsX": "after", "zzz": .null]
        return envelope
    }

    @Test(arguments: [0, 1, 2, 3])
    func unusualItemsAndUnknownMembersComeBackAsEncodedWritesThem(seed: UInt64) throws {
        let envelope = Self.unusualEnvelope(count: seed == 0 ? 0 : 60, seed: seed)
        let data = envelope.encoded()
        let read = try Envelope.decodeEncoded(data, path: "x.json")
        #expect(try read.envelope.encoded(items: read.items.items) == data)
        #expect(read.items.items.keptFromFile == envelope.items.count)
        // And written durably, streamed: the same bytes.
        let url = folder.path("invoices.json")
        #expect(try read.envelope.write(to: url, items: read.items.items) == data.count)
        #expect(try Data(contentsOf: url) == data)
    }

    @Test func filesNotInThePrettyFormAreWrittenAsEncodedWouldWriteThem() throws {
        let envelope = Self.unusualEnvelope(count: 20, seed: 9)
        let pretty = String(decoding: envelope.encoded(), as: UTF8.self)
        let item = #"{"zz": 1, "id": "hand", "a": [1,2], "a": "dup", "s": "\/\u0041\u00E9\ud83e\uddfe"}"#
        let variants = [
            JSONWriter.compactString(envelope.value),
            pretty.replacingOccurrences(of: "\n  ", with: "\n\t"),
            pretty.replacingOccurrences(of: #""id": "inv_4""#, with: #""id":"inv_4""#),
            pretty.replacingOccurrences(of: #""id": "inv_5""#, with: #""id": "inv\u005f5""#),
            pretty.replacingOccurrences(of: "\"items\": [", with: "\"items\": [\n    \(item),"),
            pretty.replacingOccurrences(of: "\"items\": [", with: "\"items\":[ {\"id\": \"x\", \"k\\n\": 1} ,"),
            pretty.replacingOccurrences(of: "\n}\n", with: "\n}\n\n  \t"),
        ]
        for (index, text) in variants.enumerated() {
            let data = Data(text.utf8)
            #expect(try rewritten(data).get() == reference(data).get(), "variant \(index)")
        }
    }

    @Test func everyDamageIsRefusedOrReadAsDecodeReadsIt() throws {
        // Random byte edits of a small envelope: whatever `decode` says (an error, or the items it reads), reading
        // the items as bytes says the same, error text included.
        let data = Self.unusualEnvelope(count: 6, seed: 5).encoded()
        var random = SplitMix(seed: 77)
        let alphabet =
            Array(#"{}[],:" \n\tabeinu0123456789.-+E/"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xED, 0xF4, 0xFF]
        var refused = 0
        for round in 0..<3000 {
            var bytes = [UInt8](data)
            for _ in 0...(random.next() % 3) {
                let at = Int(random.next() % UInt64(bytes.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: bytes.remove(at: at)
                }
            }
            let damaged = Data(bytes)
            let expected = reference(damaged)
            #expect(rewritten(damaged) == expected, "round \(round): \(String(decoding: damaged, as: UTF8.self))")
            if case .failure = expected { refused += 1 }
        }
        #expect(refused > 300 && refused < 2900, "\(refused) of 3000 refused: the edits should hit both ways")
    }

    @Test func theSameErrorsAsDecode() throws {
        let good = String(decoding: Self.unusualEnvelope(count: 3, seed: 1).encoded(), as: UTF8.self)
        let cases = [
            good.replacingOccurrences(of: #""id": "inv_1""#, with: #""id": 1"#),
            good.replacingOccurrences(of: #""id": "inv_1""#, with: #""id": "inv_0""#),
            good.replacingOccurrences(of: #""id": "inv_1""#, with: #""ident": "inv_1""#),
            good.replacingOccurrences(of: "\"schemaVersion\": 1", with: "\"schemaVersion\": 9"),
            good.replacingOccurrences(of: "\"revision\": 7", with: "\"revision\": -1"),
            good.replacingOccurrences(of: "\"items\": [", with: "\"items\": 5, \"x\": ["),
            good.replacingOccurrences(of: "\"items\": [", with: "\"items\": [], \"items\": ["),
            good.replacingOccurrences(of: "\"items\": [", with: "\"items\": [7, "),
            good + "x",
            "[1, 2]",
            "",
        ]
        for (index, text) in cases.enumerated() {
            let data = Data(text.utf8)
            let expected = reference(data)
            #expect(rewritten(data) == expected, "case \(index)")
            if index != 6 { #expect(throws: StoreError.self, "case \(index)") { try expected.get() } }
        }
    }

    @Test func aMergeOfEncodedItemsEndsAsTheMergeOfValues() throws {
        let base = Self.unusualEnvelope(count: 40, seed: 3)
        var random = SplitMix(seed: 11)
        for round in 0..<20 {
            let read = try Envelope.decodeEncoded(base.encoded(), path: "x.json")
            var encoded = read.items
            var values = ItemMerge(items: base.items)
            let changes = Self.unusualEnvelope(count: 50, seed: 100 + UInt64(round)).items
            for _ in 0..<4 {
                // Changed items, unchanged copies, new ids, deletions of held and unknown ids.
                var items: [JSONValue] = []
                for _ in 0..<Int(random.next() % 8) {
                    let index = Int(random.next() % 50)
                    items.append(random.next() % 3 == 0 && index < 40 ? base.items[index] : changes[index])
                }
                let deleted = (0..<Int(random.next() % 3)).map { _ in "inv_\(random.next() % 60)" }
                encoded.apply(items: items, deleted: deleted)
                values.apply(items: items, deleted: deleted)
            }
            #expect(encoded.changed == values.changed && encoded.received == values.received)
            #expect(encoded.removed == values.removed && encoded.items.count == values.result.count)
            var merged = base
            merged.items = values.result
            #expect(try read.envelope.encoded(items: encoded.items) == merged.encoded(), "round \(round)")
        }
        // Items equal to the cached ones change nothing: a pull that brings only those writes nothing.
        var same = try Envelope.decodeEncoded(base.encoded(), path: "x.json").items
        same.apply(items: Array(base.items.prefix(10)), deleted: ["not-held"])
        #expect(same.changed == 0 && same.received == 10)
    }
}

/// A small seeded generator, so a failing case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
