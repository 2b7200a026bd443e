import Foundation
import MoltTestSupport

/// Runs the `molt` executable built beside the test bundle.
enum MoltBinary {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var executable: URL {
        // Test bundles live in the build products directory, next to the executable.
        var dir = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("molt").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("molt")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs molt with `arguments`, and `input` on its standard input (else none), with
    /// `environment` added to this process's.
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = repository
        let out = Pipe(), err = Pipe(), inputPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inputPipe
        try process.run()
        inputPipe.fileHandleForWriting.write(Data((input ?? "").utf8))
        try inputPipe.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func fixture(_ relative: String) -> String {
        repository.appendingPathComponent("Fixtures/checkpoints").appendingPathComponent(relative).path
    }

    /// A fresh directory removed when `body` returns.
    static func withScratch<R>(_ body: (URL) throws -> R) throws -> R {
        let scratch = try ScratchDirectory()
        return try withExtendedLifetime(scratch) { try body(URL(fileURLWithPath: scratch.path)) }
    }
}
