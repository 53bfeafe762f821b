import Foundation

// The libFuzzer entry point over b1cache's decoders (see `Tests/B1CacheTests/Support/DecoderProperties.swift`
// for what is checked). Not a SwiftPM target: `Tests/Fuzz/fuzz.sh` compiles it with the B1Cache sources and
// the properties into one module (`swiftc -sanitize=fuzzer`), so `swift build` and `swift test` never see it.

/// libFuzzer calls this with each input; a crash or a broken property is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    do {
        try DecoderProperties.check(Data(bytes: start, count: count))
    } catch {
        // A trap is what libFuzzer reports as a crash, saving the input.
        fatalError("decoder property violated: \(error)")
    }
    return 0
}
