import Foundation

/// One kind of offline write (SPEC §5) as a type: its payload decoded to fields, and everything that depends on
/// the kind. Enqueue, the pending-write index (`QueueView`) and the overlay (`PendingOverlay`) ask the kind; none
/// of them reads a payload by its keys or knows which kinds exist. Each kind is one file in this folder, and
/// `WriteKind.allCases` is the one list of them (docs/WRITES.md, "Adding a kind").
///
/// The typed value is a view beside the payload object, never a replacement: the write file keeps the object as
/// given (`PendingWrite.payload`), so number literals and members this version does not read reach the server
/// unchanged. For the same reason a value the overlay copies into an item (`snoozeUntil`, `mapping`, `taxCode`,
/// `taxRate`) is kept as the `JSONValue` given: `15.0` shows as `15.0`.
protocol WritePayload: Sendable {
    /// The kind's name in write files, on the command line and in the server's API.
    static var name: String { get }
    /// The collection whose items the write changes.
    static var collection: CollectionName { get }
    /// The payload's fields in one line, for `enqueue --help`.
    static var payloadHelp: String { get }

    /// Checks the payload field by field (docs/WRITES.md §2, within `WriteLimits`) and decodes it.
    /// - Parameter now: a `snoozeUntil` must be after it; nil accepts a past one (a write queued before, re-queued
    ///   from an export: the time that passed since must not make it impossible to queue again).
    /// - Throws: `QueueError.invalidField` naming the first field that is wrong.
    init(validating payload: JSONObject, now: Date?) throws

    /// Decodes a payload that is already queued, checking nothing: a field missing or of another type reads as
    /// absent, so a file of an earlier version (or edited by hand) still shows and coalesces as far as it can.
    init(reading payload: JSONObject)

    /// Checks the write against the cached items it targets (docs/WRITES.md §3). A collection the cache does not
    /// hold is not checked.
    /// - Throws: `QueueError.targetNotFound` or `.notEditable`; `StoreError` if a target envelope is corrupt.
    func checkTargets(in cache: TargetChecker) throws

    /// Checks the write against what the pending writes will have done first, which the cache does not show yet.
    /// - Parameter appliedBy: missed-billing item id → the pending apply's write id (nil: an earlier request of the
    ///   same batch).
    /// - Throws: `QueueError.appliedByPendingWrite`.
    func checkAgainstPending(appliedBy: [String: String?]) throws

    /// The missed-billing items the write applies: after it, the server refuses any write on them.
    var appliedItems: [String] { get }

    /// The ids of the items of `collection` the write touches; each gets the overlay's `_pending` marker.
    var targetIds: [String] { get }

    /// The key a write shares with the pending write it fully supersedes (docs/WRITES.md §5); nil when it
    /// supersedes nothing and is never superseded (an apply).
    var supersedeKey: String? { get }

    /// The things the write touches, as keys of `supersedeKey`'s form. A pending write of another key touching
    /// one of them stops the search for a write to supersede: snooze, apply, ignore must reach the server in order.
    var touchedKeys: Set<String> { get }

    /// Whether the server refuses the write as a whole, given its targets as the earlier pending writes left them.
    /// A refused write changes nothing, though its targets are still marked pending.
    func isRefused(by targets: [JSONObject]) -> Bool

    /// Applies the write's local effect to one of its targets, as the server does when it applies the write
    /// (`apply_*` in Tests/ReferenceServer/store.py).
    func applyEffect(to item: inout JSONObject)
}

extension WritePayload {
    func checkAgainstPending(appliedBy: [String: String?]) throws {}
    var appliedItems: [String] { [] }
    var touchedKeys: Set<String> { supersedeKey.map { [$0] } ?? [] }
    func isRefused(by targets: [JSONObject]) -> Bool { false }
}

extension PendingWrite {
    /// The payload's typed view, decoded without checks (`WritePayload.init(reading:)`). Decoded on every call: keep
    /// it when more than one thing is asked of the same write.
    var typedPayload: any WritePayload { kind.rules.init(reading: payload) }
}
