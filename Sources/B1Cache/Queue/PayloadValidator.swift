import Foundation

/// The checks of a write's kind and payload (SPEC §5), before anything touches the disk. Each kind's fields are
/// checked by its own type (`WritePayload`, `Queue/Kinds/`); the sizes are `WriteLimits`, shared with the
/// write-file decoder.
public enum PayloadValidator {
    /// The most missed-billing items one apply may name.
    public static let maximumApplyItems = WriteLimits.applyItems.upperBound

    /// The kinds that exist on the server but need a connection (SPEC §5: never queued).
    public static let onlineOnlyKinds: Set<String> = [
        "oauth.connect", "invoice.push", "invoice-run.generate", "integration.sync", "marketplace.install",
        "session.revoke",
    ]

    /// Checks a kind's name; only the offline kinds (`WriteKind.allCases`) pass.
    /// - Throws: `QueueError.needsConnection` for an online-only kind, `.unknownKind` for any other name.
    public static func kind(_ name: String) throws -> WriteKind {
        if let kind = WriteKind(rawValue: name) { return kind }
        if onlineOnlyKinds.contains(name) { throw QueueError.needsConnection(kind: name) }
        throw QueueError.unknownKind(kind: name, suggestion: WriteKind.closest(to: name)?.rawValue)
    }

    /// Checks the payload's fields for `kind`.
    /// - Parameter now: `snoozeUntil` must be after it; nil accepts a past one (a write queued before, re-queued
    ///   from an export: the time that passed since must not make it impossible to queue again).
    /// - Throws: `QueueError.invalidField` naming the first field that is wrong.
    public static func check(_ payload: JSONObject, kind: WriteKind, now: Date? = Date()) throws {
        _ = try kind.rules.init(validating: payload, now: now)
    }
}
