@testable import B1Cache
import Foundation
import Testing

/// The streamed envelope write (`JSONWriter.streamPretty` into `DurableFile.writeStreaming`): the same bytes as the
/// in-memory writer, and the durable-write rule for the whole file even when the producer fails half-way.
@Suite struct StreamingWriteTests {
    let folder = TemporaryFolder()

    @Test(arguments: [1, 7, 4096, 1 << 20])
    func streamedBytesAreThoseOfThePrettyWriter(chunkSize: Int) throws {
        let collections = Repository.sampleCache.appendingPathComponent("collections")
        for name in try FileManager.default.contentsOfDirectory(atPath: collections.path).sorted() {
            let data = try Data(contentsOf: collections.appendingPathComponent(name))
            let value = try JSONParser.parse(data)
            var streamed = Data()
            var pieces = 0
            let count = try JSONWriter.streamPretty(value, chunkSize: chunkSize) { bytes in
                streamed.append(contentsOf: bytes)
                pieces += 1
            }
            #expect(streamed == JSONWriter.prettyData(value), "\(name), chunks of \(chunkSize)")
            #expect(count == streamed.count)
            if chunkSize < 4096 { #expect(pieces > 1, "\(name) came in one piece") }
        }
    }

    @Test func anEnvelopeWrittenByStreamingReadsBackAndSaysItsSize() throws {
        let data = try Data(contentsOf: Repository.sampleCache.appendingPathComponent("collections/contracts.json"))
        let envelope = try Envelope.decode(data, path: "contracts.json")
        let url = folder.path("contracts.json")
        let size = try envelope.write(to: url)
        #expect(try Data(contentsOf: url) == envelope.encoded())
        #expect(size == data.count)
    }

    struct Interrupted: Error {}

    @Test func aProducerThatFailsLeavesTheOldFileAndNoTempFile() throws {
        let url = folder.path("file.json")
        try DurableFile.write(Data("old\n".utf8), to: url)
        #expect(throws: Interrupted.self) {
            try DurableFile.writeStreaming(to: url) { append in
                try Data("new, half of it".utf8).withUnsafeBytes { try append($0) }
                throw Interrupted()
            }
        }
        #expect(try Data(contentsOf: url) == Data("old\n".utf8))
        let names = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(names.allSatisfy { !$0.hasPrefix(".b1tmp-") }, "\(names)")
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        try DurableFile.writeStreaming(to: url) { append in try Data("new\n".utf8).withUnsafeBytes { try append($0) } }
        #expect(try Data(contentsOf: url) == Data("new\n".utf8))
        #expect((try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) == 0o600)
    }
}
