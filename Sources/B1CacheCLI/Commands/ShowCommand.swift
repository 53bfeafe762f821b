import B1Cache
import Foundation

enum ShowCommand: Command {
    static let name = "show"
    static let summary = "a collection's items as JSON lines (--id ID, --with-pending)"
    static let options: Set<String> = ["--id"]
    static let flags: Set<String> = ["--with-pending"]
    static let help = """
        Usage: b1cache show COLLECTION [--id ID] [--with-pending] [--cache-dir DIR]

        Prints the cached items of COLLECTION, one JSON object per line, as last synced from the server.
        Collections: \(CollectionName.namesList).

        Options:
          --id ID           only the item with this id (exit 1 if there is none)
          --with-pending    show the items as they will be once the pending writes reach the server; each item a
                            write touched carries "_pending": [write ids]. The files themselves are not changed.

        Examples:
          b1cache show invoices | jq -r 'select(.status == "AUTHORISED") | .number'
          b1cache show missed-billing --id mb_f3rqrj23s7 --with-pending

        Exit codes: 0 ok; 1 not cached yet or no such id; 2 unknown collection; 8 the envelope is corrupt.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        let positionals = context.arguments.positionals
        guard positionals.count == 1 else {
            throw UsageError(
                positionals.isEmpty ? "'show' needs a collection" : "'show' takes one collection",
                hint: "collections are: \(CollectionName.namesList)")
        }
        guard let collection = CollectionName(rawValue: positionals[0]) else {
            throw StoreError.unknownCollection(name: positionals[0])
        }
        let withPending = context.arguments.has("--with-pending")
        guard let read = try context.cache().items(of: collection, withPending: withPending) else {
            context.terminal.error(
                "\(collection.rawValue) is not cached yet (no \(context.paths.envelope(for: collection).path))",
                hint: "run 'b1cache sync \(collection.rawValue)' while online")
            return .failure
        }
        for problem in read.unreadableWrites {
            context.terminal.warning(
                "not overlaid, unreadable: \(problem.description)", hint: Terminal.unreadableFileHint)
        }
        let items = read.items
        if let id = context.arguments.value("--id") {
            guard let item = items.first(where: { $0["id"]?.stringValue == id }) else {
                throw StoreError.itemNotFound(collection: collection.rawValue, id: id)
            }
            context.terminal.line(JSONWriter.compactString(item))
            return .ok
        }
        for item in items { context.terminal.line(JSONWriter.compactString(item)) }
        return .ok
    }
}
