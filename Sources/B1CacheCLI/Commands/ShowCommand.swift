import B1Cache
import Foundation

enum ShowCommand: Command {
    static let name = "show"
    static let summary = "a collection's items as JSON lines or CSV (--id, --with-pending, --sync-state, --client)"
    static let options: Set<String> = ["--id", "--client", "--fields"]
    static let flags: Set<String> = ["--with-pending", "--sync-state", "--csv", "--summary", "--json"]
    static let help = """
        Usage: b1cache show COLLECTION [--id ID] [--client ID] [--with-pending] [--sync-state] [--csv [--fields LIST]]
               b1cache show --client ID [--summary | --json | --csv [--fields LIST]]

        Prints the cached items of COLLECTION, one JSON object per line, as last synced from the server.
        Collections: \(CollectionName.namesList).

        Options:
          --id ID           only the item with this id (exit 1 if there is none)
          --with-pending    show the items as they will be once the pending writes reach the server; each item a
                            write touched carries "_pending": [write ids]. The files themselves are not changed.
          --sync-state      mark each item a pending or failed write touches with "_sync": {"state": "pending" or
                            "failed", "error": the server's reason for a failed one, "writes": [{id, kind, state,
                            attempts, error}]}; untouched items (synced) carry nothing. Alone or with --with-pending.
          --client ID       only the items of this client (by "clientId"; the clients item by "id"). Without a
                            COLLECTION: the client's whole picture — the client, its subscriptions, invoices,
                            contracts, missed billing and generated invoices, each line tagged "_collection", with
                            the pending writes applied and the sync state marked (--with-pending --sync-state implied).
                            On a terminal it prints a summary instead: MRR, AR and overdue, open missed billing,
                            drafts awaiting approval, pending and failed writes.
          --summary         the client's summary even when stdout is not a terminal
          --json            the client's JSON lines even on a terminal
          --csv             RFC 4180 CSV instead of JSON lines: a header row, then one row per item; nested values
                            as compact JSON, numbers as in the file, null and missing as empty cells
          --fields LIST     with --csv: these columns, in this order (comma-separated; default: every field, id first)

        Examples:
          b1cache show invoices | jq -r 'select(.status == "AUTHORISED") | .number'
          b1cache show missed-billing --id mb_f3rqrj23s7 --with-pending
          b1cache show contracts --sync-state | jq -c 'select(._sync.state == "failed") | {id, error: ._sync.error}'
          b1cache show --client cl_mwa62hgypj
          b1cache show invoices --client cl_mwa62hgypj --csv --fields number,dueDate,amountDue > harbourside.csv

        Exit codes: 0 ok; 1 not cached yet, no such id or no such client; 2 unknown collection, unknown --fields
        name, or options that do not go together; 8 the envelope is corrupt.
        """

    static func run(_ context: CommandContext) throws -> ExitCode {
        let arguments = context.arguments
        let output = try Output(arguments)
        let positionals = arguments.positionals
        guard positionals.count <= 1 else {
            throw UsageError("'show' takes one collection", hint: "collections are: \(CollectionName.namesList)")
        }
        let clientId = arguments.value("--client")
        if let clientId, clientId.isEmpty {
            throw UsageError("--client needs a client id, e.g. --client cl_mwa62hgypj")
        }
        guard let word = positionals.first else {
            guard let clientId else {
                throw UsageError(
                    "'show' needs a collection (or --client ID)", hint: "collections are: \(CollectionName.namesList)")
            }
            if arguments.value("--id") != nil {
                throw UsageError("--id needs a COLLECTION", hint: "e.g. b1cache show invoices --client ID --id ID")
            }
            return try showPicture(of: clientId, output: output, context: context)
        }
        guard let collection = CollectionName(rawValue: word) else { throw StoreError.unknownCollection(name: word) }
        if output.summary || output.json {
            throw UsageError(
                "\(output.summary ? "--summary" : "--json") goes with --client ID alone, without a collection",
                hint: "'show \(collection.rawValue)' always prints JSON lines (or CSV with --csv)")
        }
        let withPending = arguments.has("--with-pending"), syncState = arguments.has("--sync-state")
        let id = arguments.value("--id")
        guard let clientId else {
            // Item by item from the envelope's bytes: `show invoices` of 100,000 holds about the file, not a tree.
            guard
                let stream = try context.cache().itemStream(
                    of: collection, withPending: withPending, syncState: syncState)
            else { return notCached(collection, context: context) }
            warn(stream.unreadableWrites, on: context.terminal)
            guard let id else {
                try output.print(stream, on: context.terminal)
                return .ok
            }
            guard let item = try stream.item(id: id) else {
                throw StoreError.itemNotFound(collection: collection.rawValue, id: id)
            }
            try output.print([item], on: context.terminal)
            return .ok
        }
        guard ClientPicture.clientField(of: collection) != nil else {
            throw TriageError.notPerClient(collection: collection)
        }
        let picture = try context.cache().clientPicture(id: clientId, withPending: withPending, syncState: syncState)
        warn(picture.unreadableWrites, on: context.terminal)
        guard picture[collection].cached else { return notCached(collection, context: context) }
        var items = picture[collection].items
        if let id {
            guard let item = items.first(where: { $0["id"]?.stringValue == id }) else {
                throw StoreError.itemNotFound(collection: collection.rawValue, id: id)
            }
            items = [item]
        }
        try output.print(items, on: context.terminal)
        return .ok
    }

    static func showPicture(of clientId: String, output: Output, context: CommandContext) throws -> ExitCode {
        let picture = try context.cache().clientPicture(id: clientId)
        warn(picture.unreadableWrites, on: context.terminal)
        for section in picture.sections where !section.cached {
            context.terminal.warning(
                "\(section.collection.rawValue) is not cached yet, so the picture leaves it out",
                hint: "run 'b1cache sync \(section.collection.rawValue)' while online")
        }
        if output.summary || (context.terminal.isInteractive && !output.json && !output.csv) {
            ClientSummaryView.print(picture, now: Date(), terminal: context.terminal)
        } else {
            try output.print(picture.taggedItems, on: context.terminal)
        }
        return .ok
    }

    static func notCached(_ collection: CollectionName, context: CommandContext) -> ExitCode {
        context.terminal.error(
            "\(collection.rawValue) is not cached yet (no \(context.paths.envelope(for: collection).path))",
            hint: "run 'b1cache sync \(collection.rawValue)' while online")
        return .failure
    }

    static func warn(_ unreadable: [StoreError], on terminal: Terminal) {
        for problem in unreadable {
            terminal.warning("not overlaid, unreadable: \(problem.description)", hint: Terminal.unreadableFileHint)
        }
    }

    /// How the items are printed: JSON lines, or CSV with its columns; checked before anything is read.
    struct Output {
        var csv: Bool
        var fields: String?
        var summary: Bool
        var json: Bool

        init(_ arguments: Arguments) throws {
            csv = arguments.has("--csv")
            fields = arguments.value("--fields")
            summary = arguments.has("--summary")
            json = arguments.has("--json")
            if fields != nil && !csv {
                throw UsageError("--fields goes with --csv", hint: "e.g. b1cache show invoices --csv --fields id,total")
            }
            if csv && (summary || json) {
                throw UsageError(
                    "--csv cannot be combined with \(summary ? "--summary" : "--json"): each chooses what is printed",
                    hint: "choose one of --csv, --json and --summary")
            }
            if summary && json {
                throw UsageError(
                    "--summary cannot be combined with --json", hint: "choose one of --csv, --json and --summary")
            }
        }

        /// Prints a stream's items as they are parsed (`show COLLECTION`).
        func print(_ stream: ItemStream, on terminal: Terminal) throws {
            try print(count: stream.count, forEach: stream.forEach, on: terminal)
        }

        /// Prints items already held (`--id`, `--client`).
        func print(_ items: [JSONValue], on terminal: Terminal) throws {
            try print(count: items.count, forEach: { body in for item in items { try body(item) } }, on: terminal)
        }

        /// The one printer: JSON lines as the items come; CSV in two passes over them (the columns, then the rows a
        /// thousand at a time), so a stream is never held whole. Stops reading once stdout is gone.
        private func print(
            count: Int, forEach: ((JSONValue) throws -> Void) throws -> Void, on terminal: Terminal
        ) throws {
            struct StopReading: Error {}  // stdout is gone, or the columns are known
            do {
                guard csv else {
                    try forEach { item in
                        terminal.line(JSONWriter.compactString(item))
                        if terminal.outputFailure != nil { throw StopReading() }
                    }
                    return
                }
                // The columns: every field of every item, or, with --fields, until each chosen one was seen (the
                // first item, mostly); a name no item has reads them all, to name the fields there are.
                var names = Set<String>()
                let wanted = fields.map { Set(CSVTable.names(in: $0)) }
                do {
                    try forEach { item in
                        for key in item.objectValue?.keys ?? [] { names.insert(key) }
                        if let wanted, wanted.isSubset(of: names) { throw StopReading() }
                    }
                } catch is StopReading {}
                let table = try CSVTable(columns: CSVTable.columns(fields: names), anyItems: count > 0, fields: fields)
                guard !table.fields.isEmpty else { return }  // no items and no --fields: not even a header to print
                // raw() because CSV ends its lines with CRLF, not line()'s LF.
                terminal.raw(table.header + CSVTable.lineEnd)
                var rows: [JSONValue] = []
                rows.reserveCapacity(min(count, 1000))
                func emit() {
                    terminal.raw(String(decoding: table.encodedRows(rows[...]), as: UTF8.self))
                    rows.removeAll(keepingCapacity: true)
                }
                try forEach { item in
                    rows.append(item)
                    guard rows.count == 1000 else { return }
                    emit()
                    if terminal.outputFailure != nil { throw StopReading() }
                }
                if !rows.isEmpty { emit() }
            } catch is StopReading {
                return  // reported by the CLI, which sees the same failure
            }
        }
    }
}
