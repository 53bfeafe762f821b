import Foundation

/// The limits of an apply's open `mapping` object (`WriteLimits`): string lengths, nesting, finite numbers and the
/// encoded size, so that a mapping enqueue accepts is one the decoder reads back and the server takes.
enum MappingLimits {
    static func check(_ mapping: JSONObject) throws {
        try check(.object(mapping), path: "mapping", depth: 1)
        let bytes = JSONWriter.compactString(.object(mapping)).utf8.count
        guard bytes <= WriteLimits.mappingBytes else {
            throw QueueError.invalidField(
                field: "mapping",
                reason: "is \(bytes) bytes encoded; it may have at most "
                    + "\(WriteLimits.mappingBytes)")
        }
    }

    private static func check(_ value: JSONValue, path: String, depth: Int) throws {
        switch value {
        case .string(let text):
            try checkLength(text, path: path)
        case .number(let text):
            guard Double(text)?.isFinite == true else {
                throw QueueError.invalidField(field: path, reason: "is \(text), a number too large to hold")
            }
        case .array(let elements):
            try checkDepth(depth, path: path)
            for (index, element) in elements.enumerated() {
                try check(element, path: "\(path)[\(index)]", depth: depth + 1)
            }
        case .object(let object):
            try checkDepth(depth, path: path)
            for member in object.members {
                try checkLength(member.key, path: "\(path) key '\(member.key.prefix(40))'")
                try check(member.value, path: "\(path).\(member.key)", depth: depth + 1)
            }
        case .null, .bool:
            break
        }
    }

    private static func checkLength(_ text: String, path: String) throws {
        guard text.count <= WriteLimits.mappingString else {
            throw QueueError.invalidField(
                field: path,
                reason: "is \(text.count) characters long; "
                    + "a string in the mapping may have at most \(WriteLimits.mappingString)")
        }
    }

    private static func checkDepth(_ depth: Int, path: String) throws {
        guard depth <= WriteLimits.mappingDepth else {
            throw QueueError.invalidField(
                field: path,
                reason: "nests deeper than \(WriteLimits.mappingDepth) levels "
                    + "of objects and arrays in the mapping")
        }
    }
}
