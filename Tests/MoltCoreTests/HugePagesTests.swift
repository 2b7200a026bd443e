import CMoltSystem
import Foundation
import MoltCore
import MoltTestSupport
import Testing

@Suite struct HugePagesTests {
    /// 8 MiB of varied bytes in a new file: the page cache holds it as written, not as
    /// readahead for a huge-page mapping would.
    private func freshFile(_ scratch: ScratchDirectory) throws -> (path: String, bytes: [UInt8]) {
        var random = SplitMix64(seed: 7)
        let bytes = (0..<(8 << 20) / 8).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
        let path = scratch.file("weights.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    @Test func readingAgainKeepsTheBytesAndEndsOnHugePagesOrSaysItCannot() throws {
        let scratch = try ScratchDirectory()
        let (path, bytes) = try freshFile(scratch)
        let file = try MappedFile(path: path)
        let first = file.preferHugePages(reread: true, rereadAtLeast: 0)
        #expect(Array(file.bytes) == bytes)
        if let share = first.hugeShare {
            // Either it read the file again and got (nearly) all of it on 2 MiB pages, or it
            // did not read it again: then the file was already there, or the probe of one unit
            // showed this system cannot (share 0).
            if first.rereadSeconds != nil {
                #expect(share >= 0.9, "read again, yet only \(share) on 2 MiB pages")
            } else {
                #expect(share >= 0.9 || share == 0, "stopped at \(share) without reading again")
            }
        } else {
            #expect(first.rereadSeconds == nil)
        }
        // Once is enough: a second mapping finds the cache as the first left it.
        let again = try MappedFile(path: path).preferHugePages(reread: true, rereadAtLeast: 0)
        #expect(again.rereadSeconds == nil)
        #expect(again.hugeShare == first.hugeShare)
    }

    @Test func smallPagesLeaveTheCacheAlone() throws {
        let scratch = try ScratchDirectory()
        let (path, bytes) = try freshFile(scratch)
        let file = try MappedFile(path: path)
        #expect(file.preferHugePages(reread: false, rereadAtLeast: 0).rereadSeconds == nil)
        #expect(Array(file.bytes) == bytes)
    }

    /// A small file (a test fixture) is never read again, so commands on it say nothing about
    /// pages on stderr whatever the page cache holds.
    @Test func filesBelowTheThresholdAreNotReadAgain() throws {
        let scratch = try ScratchDirectory()
        let (path, bytes) = try freshFile(scratch)
        let file = try MappedFile(path: path)
        #expect(bytes.count < MappedFile.rereadThreshold)
        #expect(file.preferHugePages(reread: true).rereadSeconds == nil)
        #expect(Array(file.bytes) == bytes)
    }

    @Test func smapsFieldsAreSummedOverTheRange() throws {
        let count = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 4096)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 1)
        let rss = molt_mapping_kib(buffer.baseAddress, count, "Rss")
        #expect(rss >= Int64(count / 1024), "Rss \(rss) KiB for \(count / 1024) KiB touched")
        #expect(molt_mapping_kib(buffer.baseAddress, count, "NoSuchField") == -1)
    }
}
