import Foundation
import MoltCheckpoint
import MoltCore
import MoltTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 13: a named pipe as the weights hung in open(2), before the regular-file check.
@Suite struct SpecialFileTests {
    /// Runs `body` against a FIFO at `name` in a fresh directory. If opening it ever blocks
    /// again, a writer appears after 10 s so the test fails on time instead of hanging.
    private func withFIFO(named name: String, _ body: (ScratchDirectory, String) throws -> Void) throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file(name)
        #expect(mkfifo(path, 0o600) == 0)
        let rescue = DispatchWorkItem {
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 10, execute: rescue)
        defer { rescue.cancel() }
        try body(scratch, path)
    }

    @Test func fifoAsWeightsIsRefusedWithoutBlocking() throws {
        try withFIFO(named: "weights.bin") { _, path in
            let started = Date()
            let error = #expect(throws: MoltError.self) { try Checkpoint.open(path) }
            #expect(error?.message == "\(path): not a regular file")
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }

    @Test func fifoInACheckpointDirectoryIsRefusedWithoutBlocking() throws {
        try withFIFO(named: "model.safetensors") { scratch, path in
            let started = Date()
            let error = #expect(throws: MoltError.self) { try Checkpoint.open(scratch.path) }
            #expect(error?.message == "\(path): not a regular file")
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }

    @Test func fifoAsConfigIsRefusedWithoutBlocking() throws {
        try withFIFO(named: "config.json") { _, path in
            let started = Date()
            let error = #expect(throws: MoltError.self) { try MappedFile.contents(of: path, limit: 1 << 20) }
            #expect(error?.message == "\(path): not a regular file")
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }
}
