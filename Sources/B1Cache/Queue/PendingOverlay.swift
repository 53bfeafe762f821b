import Foundation

/// Shows cached items as they will be once the pending writes reach the server (SPEC §5 "local effect").
///
/// Works on copies: the envelope files keep the last server state. Every item a write touched gets
/// `"_pending": [write ids]`, in queue order, so a reader can tell local changes from server data.
///
/// Each write does what the reference server does with it (Tests/ReferenceServer/store.py), in queue order; what
/// that is belongs to its kind (`WritePayload.applyEffect`: a generated-invoice tax edit also recomputes the line's
/// `taxAmount` and the invoice's `taxTotal` and `total`). A write the server would refuse because of an earlier one
/// (an action or apply on an applied item, a tax edit of a line that is not a draft) changes nothing, though it is
/// still marked pending.
public enum PendingOverlay {
    /// The member that lists, on an overlaid item, the ids of the pending writes that touched it.
    public static let marker = "_pending"

    /// The items of `collection` with the effects of `writes` (in queue order) applied.
    public static func apply(
        _ writes: [PendingWrite], to items: [JSONValue],
        collection: CollectionName
    ) -> [JSONValue] {
        var positions: [String: Int] = [:]
        for (index, item) in items.enumerated() { if let id = item["id"]?.stringValue { positions[id] = index } }
        var result = items
        for write in writes where write.kind.collection == collection {
            let payload = write.typedPayload
            let targets = payload.targetIds.compactMap { id in
                positions[id].flatMap { index in
                    result[index].objectValue.map { (index: index, item: $0) }
                }
            }
            let refused = payload.isRefused(by: targets.map(\.item))
            for var target in targets {
                if !refused { payload.applyEffect(to: &target.item) }
                var marks = target.item[marker]?.arrayValue ?? []
                marks.append(.string(write.id))
                target.item[marker] = .array(marks)
                result[target.index] = .object(target.item)
            }
        }
        return result
    }
}
