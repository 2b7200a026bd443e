import Foundation
import MoltCore
import MoltFuzzTargets
import Testing

/// One input the fuzzers found (Fixtures/fuzz/regressions/TARGET/NAME) and the exact error it
/// must now get (NAME.expected; `INPUT` stands for the scratch directory of file targets).
struct Regression: CustomTestStringConvertible, Sendable {
    let target: FuzzTarget
    let input: URL
    var testDescription: String { "\(target.rawValue)/\(input.lastPathComponent)" }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/regressions")

    static var all: [Regression] {
        FuzzTarget.allCases.flatMap { target -> [Regression] in
            let directory = root.appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasSuffix(".expected") }.sorted().map {
                Regression(target: target, input: directory.appendingPathComponent($0))
            }
        }
    }
}

// Serialized: the file targets all write their input to one scratch path.
@Test(.serialized, arguments: Regression.all)
func fuzzFindingGetsItsExactError(_ regression: Regression) throws {
    let bytes = try Data(contentsOf: regression.input)
    let expected = try String(contentsOf: regression.input.appendingPathExtension("expected"), encoding: .utf8)
        .trimmingCharacters(in: .newlines)
    do {
        try bytes.withUnsafeBytes { try regression.target.run($0) }
        Issue.record("accepted")
    } catch let error as MoltError {
        #expect(error.message.replacingOccurrences(of: FuzzInput.directory, with: "INPUT") == expected)
        #expect(!error.message.contains("\n"))
    }
}
