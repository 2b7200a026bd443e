import Foundation
import Testing

// `molt serve` as users run it: the binary, curl as the client, and SIGTERM.

private let trained = MoltBinary.repository.appendingPathComponent("Fixtures/trained").path

/// Runs curl with `arguments`; returns its standard output and exit status.
private func curl(_ arguments: [String]) throws -> (out: String, status: Int32) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl", "-s"] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), process.terminationStatus)
}

/// `molt serve` on a free port, once it answers /health with 200.
private final class ServeProcess {
    let process = Process()
    let base: String
    private let log = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = MoltBinary.executable
        process.arguments = ["serve"] + arguments + ["--port", "0"]
        process.standardError = log
        try process.run()
        // The port is in the "listening on" log line.
        var text = "", port: String?
        let reader = log.fileHandleForReading
        while port == nil {
            let chunk = reader.availableData
            guard !chunk.isEmpty else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "molt serve exited: \(text)"]) }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"http://127\.0\.0\.1:\d+"#, options: .regularExpression) { port = String(text[range]) }
        }
        base = port!
        for _ in 0..<600 where try curl(["-f", base + "/health"]).status != 0 { usleep(50_000) }
    }
}

@Test func serveStreamsACompletionAndDrainsOnSIGTERM() throws {
    let server = try ServeProcess([trained, "--tokenizer", trained + "/tokenizer.json", "--max-batch", "2"])
    #expect(try curl(["-f", server.base + "/health"]).out.contains("ok"))

    // A long stream is under way when SIGTERM arrives: it must still run to its end.
    let output = Pipe()
    let client = Process()
    client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    client.arguments = [
        "curl", "-sN", server.base + "/v1/completions", "-H", "content-type: application/json", "-d",
        #"{"prompt": "def fibonacci(n):", "max_tokens": 60, "ignore_eos": true, "seed": 1, "stream": true}"#,
    ]
    client.standardOutput = output
    try client.run()
    let reader = output.fileHandleForReading
    var received = String(decoding: reader.availableData, as: UTF8.self)
    kill(server.process.processIdentifier, SIGTERM)
    received += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
    client.waitUntilExit()
    server.process.waitUntilExit()

    let events = received.components(separatedBy: "\n\n").filter { !$0.isEmpty }
    #expect(events.last == "data: [DONE]")
    let final = try #require(events.dropLast().last)
    let chunk = try #require(JSONSerialization.jsonObject(with: Data(final.dropFirst(6).utf8)) as? [String: Any])
    let usage = try #require(chunk["usage"] as? [String: Any])
    let choice = try #require((chunk["choices"] as? [[String: Any]])?.first)
    let generated = try #require(usage["completion_tokens"] as? Int)
    // Drained, not cut.
    #expect(generated == 60)
    #expect(choice["finish_reason"] as? String == "length")
    // One event per token (a character's last bytes may close it later), the final one, [DONE].
    #expect(events.count >= generated + 2 && events.count <= generated + 3)
    #expect(server.process.terminationStatus == 0)
    #expect(try curl([server.base + "/health"]).status != 0, "still listening after it exited")
}

@Test func serveRefusesBadOptionsAndAMissingModel() throws {
    let badPort = try MoltBinary.run(["serve", trained, "--port", "70000"])
    #expect(badPort.status == 1)
    #expect(badPort.stderr.contains("--port"))
    let missing = try MoltBinary.run(["serve", "/nonexistent/model.molt", "--port", "0"])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("/nonexistent/model.molt"))
}
