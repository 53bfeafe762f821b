import B1Cache
import Foundation

/// The hostile-files corpus: every case `HostileFileTests` plants, one per line.
extension HostileFile {
    static let all: [HostileFile] = envelopes + manifests + writes + locks + histories

    static let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    static let hundredDigits = String(repeating: "9", count: 100)
    static let int64Max = "9223372036854775807"
    static let otherId = "0f0f0f0f-1111-4222-8333-444444444444"

    static let envelopes: [HostileFile] = {
        let text = SampleFiles.invoices
        let revision = "\"revision\": 42"
        func bad(_ name: String, _ content: Content, _ outcome: Outcome = .quarantined) -> HostileFile {
            HostileFile(
                name: "envelope: \(name)", place: .envelope("invoices.json"), content: content,
                outcome: outcome)
        }
        func bad(_ name: String, _ text: String, _ outcome: Outcome = .quarantined) -> HostileFile {
            bad(name, .bytes(text.data), outcome)
        }
        return [
            bad("empty file", ""),
            bad("truncated", String(text.prefix(text.count / 3))),
            bad("null", "null"),
            bad("an array", "[]"),
            bad("a bare string", "\"envelope\""),
            bad("items is an object", edited(text) { $0["items"] = ["a": 1] }),
            bad("revision is a string", text.replacingFirst(revision, with: "\"revision\": \"42\"")),
            bad("revision 1e400", text.replacingFirst(revision, with: "\"revision\": 1e400")),
            bad("revision of 100 digits", text.replacingFirst(revision, with: "\"revision\": \(hundredDigits)")),
            bad("revision -1", text.replacingFirst(revision, with: "\"revision\": -1")),
            bad("revision Int64.max", text.replacingFirst(revision, with: "\"revision\": \(int64Max)")),
            bad(
                "10,000-deep nesting in an item",
                text.replacingFirst("\"amountPaid\": 0", with: "\"amountPaid\": \(deep)")),
            bad("invalid UTF-8 in a string", .bytes(splice(text, at: "Dunedin", [0xFF, 0xFE, 0xC0, 0x80]))),
            bad("a NUL byte in a string", .bytes(splice(text, at: "Dunedin", [0x00]))),
            bad("a byte order mark", .bytes(Data([0xEF, 0xBB, 0xBF]) + text.data)),
            bad(
                "duplicate item ids",
                edited(text) { object in
                    guard var items = object["items"]?.arrayValue, items.count > 1 else { return }
                    items[1] = items[0]
                    object["items"] = .array(items)
                }),
            bad(
                "an item without id",
                edited(text) { object in
                    guard var items = object["items"]?.arrayValue, var first = items[0].objectValue else { return }
                    first["id"] = nil
                    items[0] = .object(first)
                    object["items"] = .array(items)
                }),
            bad("another collection's data", edited(text) { $0["collection"] = "clients" }),
            bad("the format of a manifest", edited(text) { $0["format"] = "b1cache.manifest" }),
            bad("schemaVersion 0", edited(text) { $0["schemaVersion"] = 0 }),
            bad("schemaVersion 2 of a newer b1cache", edited(text) { $0["schemaVersion"] = 2 }, .newerSchema),
            bad("syncedAt that is not a date", edited(text) { $0["syncedAt"] = "yesterday" }),
            bad("a symbolic link out of the root", .linkOutside),
            bad("a named pipe", .pipe),
            bad("a folder", .folder),
            HostileFile(
                name: "envelope: a collection b1cache does not know", place: .envelope("evil.json"),
                content: .bytes(text.data), outcome: .quarantined),
            HostileFile(
                name: "envelope: a file name with ..", place: .envelope("invoices..json"),
                content: .bytes(text.data), outcome: .quarantined),
            bad(
                "duplicate keys (the last wins, as in jq)",
                text.replacingFirst("\"items\": [", with: "\"items\": [], \"items\": ["), .accepted),
            bad("a 50 MB string in an item", fiftyMegabytes(in: text, after: "\"amountPaid\": 0"), .accepted),
        ]
    }()

    static let manifests: [HostileFile] = {
        let text = SampleFiles.manifest
        func bad(_ name: String, _ content: Content, _ outcome: Outcome = .quarantined) -> HostileFile {
            HostileFile(name: "manifest: \(name)", place: .manifest, content: content, outcome: outcome)
        }
        func bad(_ name: String, _ text: String, _ outcome: Outcome = .quarantined) -> HostileFile {
            bad(name, .bytes(text.data), outcome)
        }
        return [
            bad("empty file", ""),
            bad("truncated", String(text.prefix(text.count / 2))),
            bad("null", "null"),
            bad("collections is an array", edited(text) { $0["collections"] = [1, 2] }),
            bad("a count of 1e400", text.replacingFirst("\"count\": 36", with: "\"count\": 1e400")),
            bad("a count of 100 digits", text.replacingFirst("\"count\": 36", with: "\"count\": \(hundredDigits)")),
            bad("a negative byte size", text.replacingFirst("\"bytes\": 30431", with: "\"bytes\": -30431")),
            bad("account is a string", edited(text) { $0["account"] = "dana" }),
            bad(
                "10,000-deep nesting",
                text.replacingFirst("\"account\": {", with: "\"deep\": \(deep), \"account\": {")),
            bad("invalid UTF-8 in a string", .bytes(splice(text, at: "dana.whitfield", [0xC3, 0x28]))),
            bad("a NUL byte", .bytes(splice(text, at: "\"account\"", [0x00]))),
            bad("a byte order mark", .bytes(Data([0xEF, 0xBB, 0xBF]) + text.data)),
            bad("schemaVersion 2 of a newer b1cache", edited(text) { $0["schemaVersion"] = 2 }, .newerSchema),
            bad("a symbolic link out of the root", .linkOutside),
            bad(
                "duplicate keys (the last wins, as in jq)",
                text.replacingFirst("\"collections\": {", with: "\"collections\": {}, \"collections\": {"), .accepted),
            bad(
                "a 50 MB string in a member it does not know",
                fiftyMegabytes(in: text, after: "\"format\": \"b1cache.manifest\""), .accepted),
        ]
    }()

    static let writes: [HostileFile] = {
        let text = SampleFiles.write
        func bad(_ name: String, _ content: Content, _ outcome: Outcome = .quarantined) -> HostileFile {
            HostileFile(
                name: "write file: \(name)", place: .queueFile(SampleFiles.writeName), content: content,
                outcome: outcome)
        }
        func bad(_ name: String, _ text: String, _ outcome: Outcome = .quarantined) -> HostileFile {
            bad(name, .bytes(text.data), outcome)
        }
        func extra(_ name: String, _ fileName: String, _ text: String) -> HostileFile {
            HostileFile(
                name: "queue: \(name)", place: .queueFile(fileName), content: .bytes(text.data),
                outcome: .quarantined)
        }
        let ownId = edited(text) { $0["id"] = .string(otherId) }
        return [
            bad("empty file", ""),
            bad("truncated", String(text.prefix(text.count / 2))),
            bad("null", "null"),
            bad("payload is a string", edited(text) { $0["payload"] = "snooze" }),
            bad("attempts 1e400", text.replacingFirst("\"attempts\": 0", with: "\"attempts\": 1e400")),
            bad(
                "attempts of 100 digits",
                text.replacingFirst("\"attempts\": 0", with: "\"attempts\": \(hundredDigits)")),
            bad("attempts Int64.max", text.replacingFirst("\"attempts\": 0", with: "\"attempts\": \(int64Max)")),
            bad("a kind that needs a connection", edited(text) { $0["kind"] = "invoice.push" }),
            bad("createdAt that is not a date", edited(text) { $0["createdAt"] = "2026-13-45" }),
            bad("invalid UTF-8 in a string", .bytes(splice(text, at: "\"kind\"", [0xED, 0xA0, 0x80]))),
            bad("a NUL byte", .bytes(splice(text, at: "\"payload\"", [0x00]))),
            bad("a byte order mark", .bytes(Data([0xEF, 0xBB, 0xBF]) + text.data)),
            bad(
                "10,000-deep nesting in the payload",
                text.replacingFirst("\"payload\": {", with: "\"payload\": {\"x\": \(deep), ")),
            bad("50 MB (more than any write file)", fiftyMegabytes(in: text, after: "\"attempts\": 0")),
            bad("an id that disagrees with its file name", ownId),
            bad("schemaVersion 2 of a newer b1cache", edited(text) { $0["schemaVersion"] = 2 }, .newerSchema),
            bad("a symbolic link out of the root", .linkOutside),
            bad("a named pipe", .pipe),
            bad("a folder", .folder),
            bad(
                "duplicate keys (the last wins, as in jq)",
                text.replacingFirst("\"attempts\": 0", with: "\"attempts\": 7, \"attempts\": 0"), .accepted),
            extra(
                "a second file with a queued write's id",
                "20261121T190000.000000Z-000001-\(SampleFiles.writeId).json", text),
            extra("a name that is not the naming scheme", "notes.json", ownId),
            extra("a name with a short sequence", "20261121T190000.000000Z-1-\(otherId).json", ownId),
            extra("a file name with ..", "20261121T190000.000000Z-000001-...json", ownId),
            extra("a text file", "README.txt", "not a write\n"),
            HostileFile(
                name: "queue: the folder is a symbolic link out of the root", place: .queueFolder,
                content: .linkOutside, outcome: .quarantined),
            HostileFile(
                name: "failed write: truncated", place: .failedFile(SampleFiles.failedName),
                content: .bytes(String(SampleFiles.failed.prefix(60)).data), outcome: .quarantined),
            HostileFile(
                name: "failed write: schemaVersion 2 of a newer b1cache",
                place: .failedFile(SampleFiles.failedName),
                content: .bytes(edited(SampleFiles.failed) { $0["schemaVersion"] = 2 }.data),
                outcome: .newerSchema),
        ]
    }()

    static let locks: [HostileFile] = {
        let owner = SampleFiles.owner
        let heartbeat = "2026-11-22T09:14:33.125Z"
        let anHourAgo = Timestamp.preciseString(Date().addingTimeInterval(-3600))
        func bad(_ name: String, _ content: Content, _ outcome: Outcome = .quarantined) -> HostileFile {
            HostileFile(name: "lock owner: \(name)", place: .lockOwner, content: content, outcome: outcome)
        }
        return [
            bad("a pid of 23 digits", .bytes(owner.replacingFirst("4242", with: "99999999999999999999999").data)),
            bad("a pid of -1", .bytes(owner.replacingFirst("4242", with: "-1").data)),
            bad("empty file", .bytes(Data())),
            bad("null", .bytes("null".data)),
            bad(
                "10,000-deep nesting",
                .bytes(owner.replacingFirst("\"command\": \"flush\"", with: "\"command\": \(deep)").data)),
            bad("a symbolic link out of the root", .linkOutside),
            bad(
                "pid Int32.max on another host, heartbeat an hour old",
                .bytes(
                    owner.replacingFirst("4242", with: "2147483647")
                        .replacingFirst(heartbeat, with: anHourAgo).data),
                .staleLockRemoved),
            bad(
                "a heartbeat in the year 9999",
                .bytes(owner.replacingFirst(heartbeat, with: "9999-12-31T23:59:59.000Z").data), .staleLockRemoved),
            HostileFile(
                name: "lock: flush.lock is a file", place: .lockFile, content: .bytes("locked!\n".data),
                outcome: .quarantined),
        ]
    }()

    static let histories: [HostileFile] = {
        func bad(_ name: String, _ content: Content) -> HostileFile {
            HostileFile(name: "history: \(name)", place: .history, content: content, outcome: .quarantined)
        }
        let good = SampleFiles.history
        return [
            bad("a line that is not JSON", .bytes((good + "{\"id\": \n").data)),
            bad("invalid UTF-8", .bytes(good.data + Data([0x22, 0xFF, 0x22, 0x0A]))),
            bad("NUL bytes", .bytes(good.data + Data([0x00, 0x00, 0x0A]))),
            bad("10,000-deep nesting", .bytes((good + deep + "\n").data)),
            bad("a symbolic link out of the root", .linkOutside),
        ]
    }()

    // MARK: Making them

    /// The sample text parsed, changed and written back as b1cache writes files.
    static func edited(_ text: String, _ change: (inout JSONObject) -> Void) -> String {
        guard var object = (try? JSONParser.parse(text))?.objectValue else { return text }
        change(&object)
        return String(decoding: JSONWriter.prettyData(.object(object)), as: UTF8.self)
    }

    /// The text's bytes with `bytes` inserted just after the first occurrence of `marker`.
    static func splice(_ text: String, at marker: String, _ bytes: [UInt8]) -> Data {
        guard let range = text.range(of: marker) else { return text.data }
        return Data(text[..<range.upperBound].utf8) + Data(bytes) + Data(text[range.upperBound...].utf8)
    }

    /// A valid file with a member `"note": "<50 MB of x>"` added after `member`.
    static func fiftyMegabytes(in text: String, after member: String) -> Content {
        guard let range = text.range(of: member) else { return .bytes(text.data) }
        return .fiftyMegabytes(
            prefix: String(text[..<range.upperBound]) + ", \"note\": \"",
            suffix: "\"" + String(text[range.upperBound...]))
    }
}
