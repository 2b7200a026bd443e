import Foundation

/// Paths of the committed fixtures, found from this source file so tests run from any directory.
enum FixturePaths {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static var checkpoints: URL { root.appendingPathComponent("checkpoints") }
    static var bad: URL { root.appendingPathComponent("bad") }

    static func json(_ url: URL) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}
