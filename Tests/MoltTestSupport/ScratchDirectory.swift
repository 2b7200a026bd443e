import Foundation
import MoltCore

/// A fresh directory for one test, removed with everything in it when dropped.
public final class ScratchDirectory {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "molt-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` and maps it.
    public func map(_ bytes: [UInt8], as name: String = "input") throws -> MappedFile {
        let path = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try MappedFile(path: path)
    }

    public var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
