import B1Cache
import Foundation
import Testing

/// The hand-written ISO 8601 formatter against Foundation's, and the round trip through the parser.
@Suite(.perTestTimeLimit) struct TimestampTests {
    static func foundation(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted)
        )
        .replacingOccurrences(of: "+0000", with: "Z")
    }

    @Test func formatsLikeFoundationAcrossCenturiesLeapDaysAndTheEpoch() {
        var fixed: [TimeInterval] = [
            0, -1, 59, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_164_800, 4_107_542_399,
            -2_208_988_800, 253_402_300_799, 1_795_425_243.999,
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            fixed.append(TimeInterval(Int64.random(in: -5_000_000_000...8_000_000_000, using: &generator)) + 0.75)
        }
        for seconds in fixed {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.string(date) == Self.foundation(date), "\(seconds)")
        }
    }

    @Test func preciseStringsRoundTrip() throws {
        for text in [
            "2026-11-22T09:20:11.123Z", "2024-02-29T23:59:59.999Z", "1970-01-01T00:00:00.000Z",
            "2026-11-22T09:20:11.512Z",
        ] {
            let date = try #require(Timestamp.date(text))
            #expect(Timestamp.preciseString(date) == text)
        }
        for text in [
            "2026-11-22T09:14:03Z", "1013-11-21T17:42:05Z", "1582-10-04T00:00:00Z", "1600-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            #expect(Timestamp.string(try #require(Timestamp.date(text))) == text, "\(text)")
        }
    }
}

/// `Timestamp.strictParse`, the parser of dates a person types: the fields must exist, never roll over.
@Suite struct StrictTimestampTests {
    @Test func everyExistingSecondRoundTripsAndEveryRolledOverFieldIsRefused() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let date = Date(
                timeIntervalSince1970: TimeInterval(
                    Int64.random(in: -11_000_000_000...250_000_000_000, using: &generator)))
            let text = Timestamp.string(date)
            #expect(Timestamp.strictParse(text) == .date(date), "\(text)")
        }
        for text in [
            "2027-02-30T00:00:00Z", "2027-01-01T25:61:00Z", "1900-02-29T00:00:00Z", "2027-06-31T00:00:00Z",
            "2027-01-15T00:00:60Z",
        ] {
            #expect(Timestamp.strictParse(text) == .doesNotExist, "\(text)")
            #expect(Timestamp.date(text) != nil, "Foundation rolls \(text) over; that is why the strict parser exists")
        }
        #expect(Timestamp.strictParse("2027-01-15T00:00:00-24:00") == .doesNotExist)
        for text in [
            "", "2027", "2027-01-15", "2027-01-15T00:00:00", "2027-01-15T00:00:00ZZ", "2027-01-15T00:00:00+1",
            "2027-01-15T00:00:00+01:0", "２０２７-01-15T00:00:00Z", "2027-01-15T00:00:00.Z",
        ] {
            #expect(Timestamp.strictParse(text) == .malformed, "\(text)")
        }
        #expect(Timestamp.strictDate("2027-01-15T00:00:00.25+13:00") == Timestamp.date("2027-01-15T00:00:00.250+13:00"))
    }
}
