import B1Cache
import Foundation

enum EnqueueCommand: Command {
    static let name = "enqueue"
    static let summary = "queue a write offline (validated): KIND --payload JSON|@FILE|-, or --batch FILE|-"
    static let options: Set<String> = ["--payload", "--batch"]
    static let flags: Set<String> = ["--json"]
    static let help = """
        Usage: b1cache enqueue KIND --payload JSON|@FILE|- [--json] [--cache-dir DIR]
               b1cache enqueue --batch FILE|- [--json] [--cache-dir DIR]

        Queues a write to send when the network returns. Only these kinds can be queued offline:
        \(kindLines)
        Everything else (OAuth connect, push to Xero/QBO, invoice runs, integration syncs, marketplace installs,
        session revoke) needs a connection.

        The payload is checked field by field (dates must exist; sizes have limits, docs/WRITES.md §2) and against
        the cache with its pending writes: the items must exist, tax edits only touch draft lines, and nothing
        follows an apply of the same missed-billing item. A newer tax edit of the same line, or a newer action on
        the same missed-billing item, replaces the pending one (and says so). Nothing is written when the input is
        refused.

        Options:
          --payload JSON|@FILE|-  the payload inline, from a file, or from standard input
          --batch FILE|-          JSON lines of {"kind", "payload"} (an exported write also works); every line is
                                  validated before any is queued, and the batch costs one folder fsync
          --json                  print each queued write as a JSON line

        Example:
          b1cache enqueue missed-billing.action --payload '{"itemId":"mb_f3rqrj23s7","action":"snooze","snoozeUntil":"2027-02-01T00:00:00Z"}'

        Exit codes: 0 queued; 2 invalid input (nothing queued); 8 a target envelope is corrupt.
        """

    /// One line per kind, each kind's payload as it describes it (`WriteKind.payloadHelp`).
    private static var kindLines: String {
        WriteKind.allCases.map { kind in
            "  " + kind.rawValue.padding(toLength: 28, withPad: " ", startingAt: 0) + kind.payloadHelp
        }.joined(separator: "\n")
    }

    static func run(_ context: CommandContext) throws -> ExitCode {
        let arguments = context.arguments
        let requests: [WriteRequest]
        if let batch = arguments.value("--batch") {
            guard arguments.positionals.isEmpty, arguments.value("--payload") == nil else {
                throw UsageError("--batch takes the kinds from its lines; give no KIND or --payload with it")
            }
            guard let batch = try batchRequests(try InputSource.read(batch, what: "--batch")) else {
                if !context.json { context.terminal.line("Nothing to queue: the export holds no writes.") }
                return .ok
            }
            requests = batch
        } else {
            guard arguments.positionals.count == 1 else {
                throw UsageError(
                    arguments.positionals.isEmpty ? "'enqueue' needs a KIND" : "'enqueue' takes one KIND",
                    hint: "kinds: \(WriteKind.namesList)")
            }
            let kind = arguments.positionals[0]
            // A kind that needs a connection is refused before the payload is even looked at.
            _ = try PayloadValidator.kind(kind)
            guard let source = arguments.value("--payload") else {
                throw UsageError("'enqueue' needs --payload JSON|@FILE|-", hint: "see 'b1cache enqueue --help'")
            }
            let payload = try InputSource.parseJSON(try InputSource.read(source, what: "--payload"), what: "--payload")
            requests = [WriteRequest(kind: kind, payload: payload)]
        }
        let results = try context.cache().enqueue(requests)
        for result in results {
            if context.json {
                context.terminal.line(
                    JSONWriter.compactString([
                        "id": .string(result.write.id), "kind": .string(result.write.kind.rawValue),
                        "file": .string(result.fileName), "replaced": .array(result.replaced.map { .string($0) }),
                    ]))
                continue
            }
            var line = "Queued \(result.write.kind.rawValue) \(result.write.id)"
            if !result.replaced.isEmpty {
                line += " (replaces pending write \(result.replaced.joined(separator: ", ")))"
            }
            context.terminal.line(line)
        }
        return .ok
    }

    static func batchRequests(_ data: Data) throws -> [WriteRequest]? {
        let batch = try WriteBatch.parse(data)
        if batch.requests.isEmpty {
            // An export of a cache with nothing pending is a complete round trip; an empty hand-written batch is not.
            guard batch.isExport else { throw UsageError("the --batch input has no writes") }
            return nil
        }
        return batch.requests.map(\.request)
    }
}

/// Reads an argument that is inline text, `@FILE`, or `-` for standard input.
enum InputSource {
    static func read(_ source: String, what: String) throws -> Data {
        if source == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        if source.hasPrefix("@") || what == "--batch" {
            let path = source.hasPrefix("@") ? String(source.dropFirst()) : source
            do { return try Data(contentsOf: URL(fileURLWithPath: (path as NSString).expandingTildeInPath)) } catch {
                throw UsageError("\(what): cannot read \(path)", hint: "check the file's name and permissions")
            }
        }
        return Data(source.utf8)
    }

    static func parseJSON(_ data: Data, what: String) throws -> JSONValue {
        do { return try JSONParser.parse(data) } catch {
            throw UsageError(
                "\(what) is not valid JSON: \(error)", hint: "quote the JSON in single quotes, or use @FILE")
        }
    }
}
