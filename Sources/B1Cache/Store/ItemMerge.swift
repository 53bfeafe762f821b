import Foundation

/// The one merge by id of cached items, for sync's pages and flush's answers: replace by id, append new ids, remove deleted ids, keep the order of
/// the items already held. Removal leaves a hole that `result` compacts, so each page costs O(page), not
/// O(collection).
struct ItemMerge {
    private var slots: [JSONValue?]
    private var positions: [String: Int]
    private(set) var received = 0
    private(set) var removed = 0
    /// Items added, replaced by a different value, or removed: zero when the merge left the items as they were.
    private(set) var changed = 0

    init(items: [JSONValue] = []) {
        slots = items
        positions = Dictionary(minimumCapacity: items.count)
        for (index, item) in items.enumerated() {
            if let id = item["id"]?.stringValue { positions[id] = index }
        }
    }

    /// Replaces or appends `items` by id (items without a string id are skipped), then removes `deleted` ids.
    mutating func apply(items: [JSONValue], deleted: [String]) {
        for item in items {
            guard let id = item["id"]?.stringValue else { continue }
            received += 1
            if let index = positions[id] {
                if slots[index] != item { changed += 1 }
                slots[index] = item
            } else {
                positions[id] = slots.count
                slots.append(item)
                changed += 1
            }
        }
        for id in deleted {
            guard let index = positions.removeValue(forKey: id) else { continue }
            slots[index] = nil
            removed += 1
            changed += 1
        }
    }

    var result: [JSONValue] { slots.compactMap { $0 } }
}
