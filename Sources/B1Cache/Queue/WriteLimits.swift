import Foundation

/// The sizes a queued write may have: one set, shared by enqueue (`PayloadValidator`, `Enqueuer`), the write-file
/// decoder (`WriteQueue.read`) and flush, so that whatever enqueue accepts can always be read back, listed,
/// verified and sent. docs/WRITES.md §2 lists them.
///
/// How they fit together: a write enqueue accepts is at most `encodedWrite` bytes on disk. Flush adds at most
/// `lastError` characters of server message (escaped, under 6 bytes each) and three dates, so a write file stays far
/// below `file`, the decoder's limit. A batch of `ServerClient.batchLimit` (100) writes of `encodedWrite` is under
/// 26 MB, inside the 32 MB a server takes in one request (docs/PROTOCOL.md, 413 `too_large`).
public enum WriteLimits {
    /// Characters of an id field (`itemId`, `invoiceId`, `lineId`, `taxCode`, `mapping.contractId`, …).
    public static let identifier = 200
    /// How many missed-billing items one apply names.
    public static let applyItems = 1...500
    /// Characters of any one string (a key or a value) inside an apply's `mapping`.
    public static let mappingString = 1_000
    /// Levels of objects and arrays inside `mapping` (the mapping itself is level 1).
    public static let mappingDepth = 8
    /// Bytes of `mapping`, compactly encoded.
    public static let mappingBytes = 16 * 1024
    /// Bytes of the whole write file as enqueue writes it (pretty-printed).
    public static let encodedWrite = 256 * 1024
    /// Characters (Unicode scalars) of the server's message that flush keeps in `lastError`.
    public static let lastError = 2_000
    /// Bytes of a write file the decoder reads; anything larger is not one of ours. Kept at 4 MiB, the limit of
    /// earlier versions, so that a write they queued stays readable.
    public static let file = 4 * 1024 * 1024

    /// `message` cut to `lastError` scalars (a server's error body may be of any length).
    public static func truncatedError(_ message: String) -> String {
        guard message.unicodeScalars.count > lastError else { return message }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: message.unicodeScalars.prefix(lastError - 1))
        return String(scalars) + "…"
    }
}
