import Foundation

/// What a flush will send, in order: the one plan that both `flush` and `flush --dry-run` follow, so a dry run
/// can never promise a write the real flush holds back.
///
/// Order is kept: the first write still waiting for its backoff holds back every write after it; then `--max`
/// cuts the rest; then the writes go in batches of `batchSize`. Unreadable files are left out (and named).
public struct FlushPlan: Sendable {
    /// The writes to send, in queue order, with their files.
    public var writes: [(write: PendingWrite, entry: QueueEntry)]
    /// The write that holds back the rest, and until when; nil when none waits.
    public var heldBack: (write: PendingWrite, until: Date)?
    /// The file names that could not be read (never sent).
    public var unreadable: [String]
    /// Writes per request (`FlushOptions.batchSize`, at least 1).
    public var batchSize: Int

    /// Plans from the listing of `queue/` (`WriteQueue.list(.pending)`).
    public init(_ listed: [WriteQueue.Listed], options: FlushOptions, now: Date = Date()) {
        var writes: [(write: PendingWrite, entry: QueueEntry)] = []
        unreadable = []
        for item in listed {
            if let write = item.write {
                writes.append((write, item.entry))
            } else {
                unreadable.append(item.entry.fileName)
            }
        }
        heldBack = nil
        if !options.ignoreBackoff,
            let index = writes.firstIndex(where: { $0.write.nextAttemptAt.map { $0 > now } ?? false }),
            let until = writes[index].write.nextAttemptAt
        {
            heldBack = (writes[index].write, until)
            writes = Array(writes[..<index])
        }
        if let maximum = options.maximumWrites { writes = Array(writes.prefix(maximum)) }
        self.writes = writes
        batchSize = max(1, options.batchSize)
    }

    /// The writes as the requests will carry them (the last batch may be shorter).
    public var batches: [[PendingWrite]] {
        stride(from: 0, to: writes.count, by: batchSize).map { start in
            writes[start..<min(start + batchSize, writes.count)].map(\.write)
        }
    }
}
