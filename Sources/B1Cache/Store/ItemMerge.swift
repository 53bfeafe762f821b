import Foundation

/// The one merge by id of cached items, for sync's pages and flush's answers: replace by id, append new ids, remove deleted ids, keep the order of
/// the items already held. Removal leaves a hole that the storage compacts when it is read, so each page costs
/// O(page), not O(collection).
///
/// The items are held by `Items`: as values (`ItemValues`, flush) or as their encoded bytes (`EncodedItems`, sync,
/// which so holds a 100,000-item collection in about the size of its file).
struct ItemMerge<Items: MergeableItems> {
    /// The items, in order, holes included.
    private(set) var items: Items
    private var positions: [String: Int]
    private(set) var received = 0
    private(set) var removed = 0
    /// Items added, replaced by a different value, or removed: zero when the merge left the items as they were.
    private(set) var changed = 0

    /// The slot of the item `id`, when the merge holds one.
    func slot(of id: String) -> Int? { positions[id] }

    /// A merge into `items`, whose slot of each id is given by `positions`.
    init(_ items: Items, positions: [String: Int]) {
        self.items = items
        self.positions = positions
    }

    /// Replaces or appends `items` by id (items without a string id are skipped), then removes `deleted` ids.
    mutating func apply(items newItems: [JSONValue], deleted: [String]) {
        for item in newItems {
            guard let id = item["id"]?.stringValue else { continue }
            received += 1
            if let index = positions[id] {
                if items.replace(at: index, with: item) { changed += 1 }
            } else {
                positions[id] = items.append(item)
                changed += 1
            }
        }
        for id in deleted {
            guard let index = positions.removeValue(forKey: id) else { continue }
            items.remove(at: index)
            removed += 1
            changed += 1
        }
    }
}

/// What `ItemMerge` holds its items in: slots by position, each an item or a hole.
protocol MergeableItems {
    /// Adds an item at the end; returns its slot.
    mutating func append(_ item: JSONValue) -> Int
    /// Puts `item` in slot `index`; false when the slot held an equal item already (nothing changed).
    mutating func replace(at index: Int, with item: JSONValue) -> Bool
    /// Leaves a hole at slot `index`.
    mutating func remove(at index: Int)
}

/// Items held as values (flush's merge of the server's entities).
struct ItemValues: MergeableItems {
    var slots: [JSONValue?]

    mutating func append(_ item: JSONValue) -> Int {
        slots.append(item)
        return slots.count - 1
    }

    mutating func replace(at index: Int, with item: JSONValue) -> Bool {
        defer { slots[index] = item }
        return slots[index] != item
    }

    mutating func remove(at index: Int) { slots[index] = nil }
}

extension ItemMerge where Items == ItemValues {
    /// A merge into `items` (ids taken from them).
    init(items: [JSONValue] = []) {
        var positions = [String: Int](minimumCapacity: items.count)
        for (index, item) in items.enumerated() {
            if let id = item["id"]?.stringValue { positions[id] = index }
        }
        self.init(ItemValues(slots: items), positions: positions)
    }

    /// The merged items, in order.
    var result: [JSONValue] { items.slots.compactMap { $0 } }
}

extension ItemMerge: Sendable where Items: Sendable {}
