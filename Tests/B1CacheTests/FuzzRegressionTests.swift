import B1Cache
import Foundation
import Testing

/// Replays, without the fuzzer, every input it once crashed on (`Tests/Fuzz/regressions/`) and the committed
/// seeds (`Tests/Fuzz/corpus/`) through the same checks the fuzz target makes (`DecoderProperties`), and pins
/// down what each fix decided.
@Suite(.perTestTimeLimit) struct FuzzRegressionTests {
    static let fuzzFolder = Repository.root.appendingPathComponent("Tests/Fuzz")

    static func inputs(in folder: String) -> [String] {
        let url = fuzzFolder.appendingPathComponent(folder)
        return ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { !$0.hasPrefix(".") }
            .sorted().map { "\(folder)/\($0)" }
    }

    /// The replay below passes on no input at all, so this test makes sure there are inputs: both folders listed
    /// (an error, not an empty list, when they cannot be), every input a selector byte plus a body (an empty one
    /// reaches no decoder), and every decoder seeded.
    @Test func thereAreRegressionInputsToReplayForEveryDecoder() throws {
        var selectors: Set<FuzzTarget> = []
        for (folder, minimum) in [("regressions", 4), ("corpus", 7)] {
            let url = Self.fuzzFolder.appendingPathComponent(folder)
            let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }
            #expect(names.count >= minimum, "\(folder): \(names)")
            #expect(Self.inputs(in: folder).count == names.count)
            for name in names {
                let data = try Data(contentsOf: url.appendingPathComponent(name))
                #expect(data.count >= 2, "\(folder)/\(name) holds no input for a decoder")
                if let selector = data.first { selectors.insert(FuzzTarget(selector: selector)) }
            }
        }
        #expect(selectors == Set(FuzzTarget.allCases))
    }

    @Test(arguments: inputs(in: "regressions") + inputs(in: "corpus"))
    func inputKeepsEveryDecoderProperty(_ relative: String) throws {
        let data = try Data(contentsOf: Self.fuzzFolder.appendingPathComponent(relative))
        try DecoderProperties.check(data)
    }

    // MARK: What the fixes decided

    @Test func writeFileNamesOnlyParseInTheExactFormB1cacheWrites() throws {
        let canonical = "20261122T092011.123456Z-000001-0b9f6c1e.json"
        let name = try #require(WriteFileName(fileName: canonical))
        #expect(name.fileName == canonical)
        for other in [
            "00261122T092011.123456Z-01-0bf.json",  // a short sequence (found by the fuzzer)
            "20261122T092011.123456Z-+00001-0b9f6c1e.json", "+0261122T092011.123456Z-000001-x.json",
            "20261322T092011.123456Z-000001-x.json", "20260231T092011.123456Z-000001-x.json",
            "20261122T246011.123456Z-000001-x.json", "00001122T092011.123456Z-000001-x.json",
        ] {
            #expect(WriteFileName(fileName: other) == nil, "\(other)")
        }
    }

    @Test func aWriteFileNameBefore1970HasAPositiveFraction() throws {
        let name = WriteFileName(microseconds: -1, sequence: 1, id: "x")
        #expect(name.fileName == "19691231T235959.999999Z-000001-x.json")
        #expect(WriteFileName(fileName: name.fileName) == name)
    }

    @Test func countersPastTwoToThe53AreRefusedSoTheNextIncrementCannotOverflow() throws {
        let regressions = Self.fuzzFolder.appendingPathComponent("regressions")
        let envelope = try Data(contentsOf: regressions.appendingPathComponent("envelope-revision-int64-max"))
        #expect {
            try Envelope.decode(envelope.dropFirst(), path: "/x/settings.json")
        } throws: { error in
            "\(error)".contains(
                "'revision' should be a whole number from 0 to 9007199254740991, "
                    + "found a number (9223372036854775807)")
        }
        let write = try Data(contentsOf: regressions.appendingPathComponent("write-attempts-int64-max"))
        #expect(throws: StoreError.self) { try PendingWrite.decode(write.dropFirst(), path: "/x/w.json") }
        let negative =
            #"{"format":"b1cache.manifest","schemaVersion":1,"#
            + #""collections":{"invoices":{"revision":-1,"count":0,"bytes":0}}}"#
        #expect(throws: StoreError.self) { try Manifest.decode(Data(negative.utf8), path: "/x/manifest.json") }
    }
}
