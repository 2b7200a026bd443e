import Foundation
import MoltCore
import MoltTestSupport
import Testing

/// Tests that create temporary outputs. Serialized because one of them calls the
/// process-wide `removeAllTemporaryFiles()`, which would unlink a concurrent test's file.
@Suite(.serialized) struct AtomicOutputTests {
    private func write(_ output: AtomicOutput, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try output.write($0) }
    }

    @Test func commitRenamesIntoPlace() throws {
        let scratch = try ScratchDirectory()
        let output = try AtomicOutput(path: scratch.file("out.bin"), overwrite: false)
        try write(output, [1, 2, 3])
        #expect(scratch.contents == [URL(fileURLWithPath: output.temporaryPath).lastPathComponent])
        #expect(output.temporaryPath.hasPrefix(scratch.file(".out.bin.molt-tmp-\(getpid())-")))
        try output.commit()
        #expect(scratch.contents == ["out.bin"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.file("out.bin"))) == Data([1, 2, 3]))
    }

    @Test func abandonAndDropLeaveNothing() throws {
        let scratch = try ScratchDirectory()
        let output = try AtomicOutput(path: scratch.file("a"), overwrite: false)
        try write(output, [1])
        output.abandon()
        #expect(scratch.contents.isEmpty)
        #expect(throws: MoltError.self) { try write(output, [2]) }
        do {
            let dropped = try AtomicOutput(path: scratch.file("b"), overwrite: false)
            try write(dropped, [1])
        }
        #expect(scratch.contents.isEmpty)
    }

    @Test func refusesToOverwriteUnlessAsked() throws {
        let scratch = try ScratchDirectory()
        let target = scratch.file("out")
        try Data([9]).write(to: URL(fileURLWithPath: target))
        let error = #expect(throws: MoltError.self) { try AtomicOutput(path: target, overwrite: false) }
        #expect(error?.kind == .usage)
        #expect(error?.message == "\(target) exists; pass --force to overwrite")
        #expect(error?.reason == .outputExists)

        let output = try AtomicOutput(path: target, overwrite: true)
        try write(output, [7, 7])
        try output.commit()
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([7, 7]))
        #expect(scratch.contents == ["out"])
    }

    @Test func fileAppearingBeforeCommitIsNotReplaced() throws {
        let scratch = try ScratchDirectory()
        let target = scratch.file("out")
        let output = try AtomicOutput(path: target, overwrite: false)
        try write(output, [1])
        try Data([9]).write(to: URL(fileURLWithPath: target))
        let error = #expect(throws: MoltError.self) { try output.commit() }
        #expect(error?.message.contains("exists") == true)
        #expect(scratch.contents == ["out"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([9]))
    }

    @Test func failedCommitRemovesTheTemporaryFile() throws {
        let scratch = try ScratchDirectory()
        let target = scratch.file("out")
        let output = try AtomicOutput(path: target, overwrite: true)
        try write(output, [1])
        // rename(2) cannot replace a non-empty directory.
        try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
        #expect(throws: MoltError.self) { try output.commit() }
        #expect(scratch.contents == ["out"])
    }

    @Test func refusesDirectoriesAndMissingParents() throws {
        let scratch = try ScratchDirectory()
        #expect(throws: MoltError.self) { try AtomicOutput(path: scratch.path, overwrite: true) }
        #expect(throws: MoltError.self) { try AtomicOutput(path: scratch.file("missing/out"), overwrite: true) }
        #expect(throws: MoltError.self) { try AtomicOutput(path: scratch.file("out/"), overwrite: true) }
        #expect(scratch.contents.isEmpty)
    }

    @Test func largeAndSmallWritesKeepTheirOrder() throws {
        let scratch = try ScratchDirectory()
        let big = (0..<(DescriptorWriter.bufferSize + 12345)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let output = try AtomicOutput(path: scratch.file("out"), overwrite: false)
        try write(output, [1, 2])
        try write(output, big)
        try write(output, [3])
        try write(output, Array(big[0..<(DescriptorWriter.bufferSize - 1)]))
        try write(output, [4])
        try output.commit()
        let expected = [1, 2] + big + [3] + big[0..<(DescriptorWriter.bufferSize - 1)] + [4]
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.file("out"))) == Data(expected))
    }

    @Test func removeAllTemporaryFilesUnlinksLiveOutputs() throws {
        let scratch = try ScratchDirectory()
        let first = try AtomicOutput(path: scratch.file("a"), overwrite: false)
        let second = try AtomicOutput(path: scratch.file("b"), overwrite: false)
        try write(second, [1])
        #expect(scratch.contents.count == 2)
        AtomicOutput.removeAllTemporaryFiles()
        #expect(scratch.contents.isEmpty)
        first.abandon()
        second.abandon()
    }
}
