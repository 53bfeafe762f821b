import B1Cache
import Foundation
import Testing

extension Repository {
    /// The sample cache copied to `destination` with `count` more invoices, copies of its first one with ids
    /// `<prefix>00000`… and a memo of unicode, quotes, a comma and a tab (what an envelope's bytes must carry
    /// through every reader).
    static func sampleCache(at destination: URL, invoices count: Int, idPrefix prefix: String) throws -> URL {
        let root = try copySampleCache(to: destination)
        let store = CacheStore(paths: CachePaths(root: root))
        var envelope = try #require(try store.envelope(for: .invoices))
        let template = try #require(envelope.items.first?.objectValue)
        for index in 0..<count {
            var item = template
            item["id"] = .string(String(format: "\(prefix)%05d", index))
            item["memo"] = .string("Ünïcode \"quoted\", memo \(index)\twith a tab")
            envelope.items.append(.object(item))
        }
        try store.replaceEnvelope(envelope)
        return root
    }
}
