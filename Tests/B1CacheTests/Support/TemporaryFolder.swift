import Foundation

/// A UUID-named folder for one test, removed when the test's suite instance goes away.
final class TemporaryFolder: @unchecked Sendable {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("b1cache-tests-\(UUID().uuidString.lowercased())", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        // Undo any read-only modes a test set, so the folder can be removed.
        _ = try? Process.run(URL(fileURLWithPath: "/bin/chmod"), arguments: ["-R", "u+rwx", url.path]).waitUntilExit()
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }
}

/// Paths of the repository the tests run in.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sampleCache = root.appendingPathComponent("SampleCache")

    /// Copies SampleCache to `destination` (which must not exist) with the modes b1cache gives its files
    /// (git keeps no modes, so a clone has 0644/0755), and returns it.
    static func copySampleCache(to destination: URL) throws -> URL {
        try FileManager.default.copyItem(at: sampleCache, to: destination)
        let enumerator = FileManager.default.enumerator(atPath: destination.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: destination.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = destination.appendingPathComponent(relative).path
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            try FileManager.default.setAttributes(
                [.posixPermissions: isFolder.boolValue ? 0o700 : 0o600], ofItemAtPath: path)
        }
        return destination
    }
}

/// Every file under `folder` with its bytes, to prove a command changed nothing. Links are not followed (a link
/// is recorded as the path it points to), and a pipe or device is recorded by its kind, never opened.
func snapshotFiles(under folder: URL) throws -> [String: Data] {
    var files: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: folder.path)
    while let relative = enumerator?.nextObject() as? String {
        let url = folder.appendingPathComponent(relative)
        let type = try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
        switch type {
        case .typeDirectory?: continue
        case .typeRegular?: files[relative] = try Data(contentsOf: url)
        case .typeSymbolicLink?:
            let destination = try FileManager.default.destinationOfSymbolicLink(atPath: url.path)
            files[relative] = Data("link to \(destination)".utf8)
        default: files[relative] = Data("special file \(type?.rawValue ?? "?")".utf8)
        }
    }
    return files
}
