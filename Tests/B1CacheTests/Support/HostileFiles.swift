import B1Cache
import Foundation
import Testing

/// One malformed or hostile file planted in a copy of SampleCache, and what b1cache must do about it.
struct HostileFile: Sendable, CustomTestStringConvertible {
    /// Where the file goes.
    enum Place: Sendable {
        /// `collections/<name>.json`, or another name in `collections/`.
        case envelope(String)
        case manifest
        /// A queue/ or failed/ file: an existing write's name (its content replaced) or a new name.
        case queueFile(String)
        case failedFile(String)
        /// `queue/` itself.
        case queueFolder
        /// `flush.lock/owner.json` in a lock folder an hour old.
        case lockOwner
        /// `flush.lock` itself, as a file an hour old.
        case lockFile
        case history
    }

    /// What is there instead of a good file.
    enum Content: Sendable {
        case bytes(Data)
        /// A symbolic link to a file (or, for a folder's place, a folder) outside the cache root.
        case linkOutside
        /// A named pipe: opening it for reading would block forever.
        case pipe
        /// A folder where a file belongs.
        case folder
        /// `prefix`, then a 50 MB string of `x`, then `suffix`.
        case fiftyMegabytes(prefix: String, suffix: String)
    }

    /// What must happen.
    enum Outcome: Sendable {
        /// Commands that need it fail with a clear error or skip it with a warning; `verify` reports it (8) and
        /// `verify --repair` moves it, unchanged, to quarantine/.
        case quarantined
        /// A file of a newer b1cache: refused with "upgrade b1cache", reported by `verify`, never moved.
        case newerSchema
        /// Valid after all (jq reads it the same way): every command works, `verify --repair` leaves it alone.
        case accepted
        /// A readable but stale lock: `verify --repair` removes it; nothing needs keeping.
        case staleLockRemoved
    }

    var name: String
    var place: Place
    var content: Content
    var outcome: Outcome

    var testDescription: String { name }

    /// The file's path relative to the root.
    var relativePath: String {
        switch place {
        case .envelope(let name): "collections/\(name)"
        case .manifest: "manifest.json"
        case .queueFile(let name): "queue/\(name)"
        case .failedFile(let name): "failed/\(name)"
        case .queueFolder: "queue"
        case .lockOwner: "flush.lock/owner.json"
        case .lockFile: "flush.lock"
        case .history: "history.jsonl"
        }
    }
}

extension HostileFile.Place {
    var isLock: Bool {
        switch self {
        case .lockOwner, .lockFile: true
        default: false
        }
    }

    var isFolder: Bool {
        if case .queueFolder = self { true } else { false }
    }
}

/// The SampleCache files the hostile ones are made from.
enum SampleFiles {
    static let invoices = text("collections/invoices.json")
    static let manifest = text("manifest.json")
    /// A pending missed-billing.action write and its file name.
    static let writeName = "20261121T184722.650171Z-000001-5e7b2c90-1af4-4d3b-8c65-e03a9f17d4b8.json"
    static let writeId = "5e7b2c90-1af4-4d3b-8c65-e03a9f17d4b8"
    static let write = text("queue/\(writeName)")
    static let failedName = "20261121T180251.204518Z-000001-3c2e8a51-7d4f-4b9e-a0c6-5f1d2e9b8a47.json"
    static let failed = text("failed/\(failedName)")
    static let owner = """
        {"acquiredAt": "2026-11-22T09:14:03.120Z", "bootId": null, "command": "flush",
         "heartbeatAt": "2026-11-22T09:14:33.125Z", "host": "elsewhere", "pid": 4242, "processStartTime": "109463"}
        """
    static let history =
        #"{"at":"2026-11-21T18:30:02.114Z","id":"8f14e45f","kind":"missed-billing.action","#
        + #""result":"retry-later"}"# + "\n"

    static func text(_ relative: String) -> String {
        (try? String(contentsOf: Repository.sampleCache.appendingPathComponent(relative), encoding: .utf8)) ?? ""
    }
}

extension String {
    /// The text with the first occurrence of `target` replaced (the samples are pretty-printed, so `"revision": 42`
    /// appears exactly once where it matters).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }

    var data: Data { Data(utf8) }
}
