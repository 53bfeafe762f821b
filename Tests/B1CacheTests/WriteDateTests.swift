import B1Cache
import Foundation
import Testing

/// Dates a person types (`snoozeUntil`) must exist: Foundation's parser rolls 30 February over into March, and
/// the server refuses such a date after reconnect (422), so enqueue refuses it (exit 2, the field named).
@Suite final class WriteDateTests {
    let folder = TemporaryFolder()
    lazy var cache: URL = (try? Repository.copySampleCache(to: folder.path("cache"))) ?? folder.path("cache")

    func b1cache(_ arguments: [String], input: Data? = nil) throws -> CommandResult {
        try CommandRunner.b1cache(arguments + ["--cache-dir", cache.path], input: input)
    }

    static func snooze(_ until: String) -> String {
        #"{"itemId":"\#(Sample.openItem)","action":"snooze","snoozeUntil":"\#(until)"}"#
    }

    static let impossible = [
        "2027-02-30T00:00:00Z", "2027-01-01T25:61:00Z", "2027-02-29T00:00:00Z", "2100-02-29T12:00:00Z",
        "2027-04-31T00:00:00Z", "2027-13-01T00:00:00Z", "2027-00-10T00:00:00Z", "2027-01-00T00:00:00Z",
        "2027-01-15T24:00:00Z", "2027-01-15T23:60:00Z", "2027-01-15T23:59:60Z", "2027-01-15T00:00:00+24:00",
        "2027-01-15T00:00:00+05:60",
    ]

    @Test(arguments: impossible)
    func aDateThatDoesNotExistIsRefusedNamingTheField(_ date: String) throws {
        let before = try snapshotFiles(under: cache)
        let result = try b1cache(["enqueue", "missed-billing.action", "--payload", Self.snooze(date)])
        #expect(result.status == 2)
        #expect(
            result.errorOutput.contains(
                "payload field 'snoozeUntil' is '\(date)', a date and time that does not exist"),
            "\(result.errorOutput)")
        #expect(try snapshotFiles(under: cache) == before)
    }

    @Test func malformedDatesAreRefusedAndEveryFormTheServerReadsIsQueued() throws {
        for text in [
            "2027-1-15T00:00:00Z", "2027-01-15", "2027-01-15T00:00Z", "2027-01-15 00:00:00Z", "+2027-01-15T00:00:00Z",
            "2027-01-15T00:00:00", "2027-01-15T00:00:00.Z", "2027-01-15T00:00:00.1234567890Z", "2027-01-15t00:00:00z",
        ] {
            let result = try b1cache(["enqueue", "missed-billing.action", "--payload", Self.snooze(text)])
            #expect(result.status == 2, "\(text)")
            #expect(
                result.errorOutput.contains("'snoozeUntil' must be an ISO 8601 date and time with a time zone"),
                "\(text)")
        }
        let accepted = [
            "2028-02-29T23:59:59Z", "2027-12-31T23:59:59.999+13:00", "2027-06-30T12:00:00-0530",
            "2400-02-29T00:00:00Z", "2027-01-15T00:00:00.123456789Z",
        ]
        for text in accepted {
            let result = try b1cache(["enqueue", "missed-billing.action", "--payload", Self.snooze(text), "--json"])
            #expect(result.status == 0, "\(text): \(result.errorOutput)")
            let id = try JSONParser.parse(result.output)["id"]?.stringValue ?? ""
            // Kept as typed (an offset is not converted to UTC).
            #expect(
                try JSONParser.parse(try b1cache(["queue", "show", id]).output)["payload"]?["snoozeUntil"]
                    == .string(text))
        }
    }

    @Test func aPastDateIsRefusedForANewWriteButNotForAReQueuedExport() throws {
        let past = try b1cache(["enqueue", "missed-billing.action", "--payload", Self.snooze("2001-01-01T00:00:00Z")])
        #expect(past.status == 2)
        #expect(
            past.errorOutput.contains(
                "payload field 'snoozeUntil' must be in the future; 2001-01-01T00:00:00Z has passed"))
        // An exported write keeps its id; the time that passed since it was queued must not make it unqueueable.
        let line =
            #"{"id":"w-snoozed-long-ago","kind":"missed-billing.action","payload":\#(Self.snooze("2001-01-01T00:00:00Z"))}"#
        let requeued = try b1cache(["enqueue", "--batch", "-"], input: Data(line.utf8))
        #expect(requeued.status == 0, "\(requeued.errorOutput)")
        // Even there a date that does not exist is refused.
        let impossible = line.replacingOccurrences(of: "2001-01-01", with: "2001-02-30").replacingOccurrences(
            of: "w-", with: "v-")
        let refused = try b1cache(["enqueue", "--batch", "-"], input: Data(impossible.utf8))
        #expect(refused.status == 2)
        #expect(refused.errorOutput.contains("batch line 1: payload field 'snoozeUntil' is '2001-02-30T00:00:00Z'"))
    }
}
