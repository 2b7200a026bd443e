import CMoltSystem
import Foundation
import MoltCore
import MoltTestSupport
import Testing

@Suite struct HugePagesTests {
    /// `mib` MiB of varied bytes in a new file: the page cache holds it as written, not as
    /// readahead for a huge-page mapping would.
    private func freshFile(_ scratch: ScratchDirectory, mib: Int = 8) throws -> (path: String, bytes: [UInt8]) {
        var random = SplitMix64(seed: 7)
        let bytes = (0..<(mib << 20) / 8).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
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

    /// Where the kernel names the units on small pages, a file mostly on 2 MiB pages has only
    /// those read again: here one unit, put back on small pages by reading it through read(2).
    @Test func onlyTheUnitsOnSmallPagesAreReadAgain() throws {
        let scratch = try ScratchDirectory()
        let (path, bytes) = try freshFile(scratch, mib: 16)
        let first = try MappedFile(path: path).preferHugePages(reread: true, rereadAtLeast: 0)
        guard let share = first.hugeShare, share == 1 else { return }  // this system cannot: the test above covers it
        let unit = 4 << 20, descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        #expect(molt_drop_cached_pages(descriptor, Int64(unit), 2 << 20) == 0)
        var chunk = [UInt8](repeating: 0, count: 2 << 20)
        #expect(pread(descriptor, &chunk, chunk.count, off_t(unit)) == chunk.count)
        let file = try MappedFile(path: path)
        let again = file.preferHugePages(reread: true, rereadAtLeast: 0)
        #expect(Array(file.bytes) == bytes)
        guard again.rereadBytes != nil || again.hugeShare != 1 else { return }  // read(2) cached it in 2 MiB folios after all
        var none = [Int64](repeating: 0, count: 2)
        if molt_small_page_ranges(file.bytes.baseAddress, file.count, &none, 1) >= 0 {
            #expect(again.rereadBytes == 2 << 20, "the kernel names the one unit on small pages")
        } else {
            #expect(again.rereadBytes == 16 << 20, "7/8 on 2 MiB pages, below 90%: the whole file")
        }
        #expect(again.hugeShare == 1)
    }

    /// Anonymous memory advised against huge pages is small pages from end to end.
    @Test func smallPageRangesCoverMemoryOnSmallPages() throws {
        let count = 8 << 20
        let memory = try #require(mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(memory != MAP_FAILED)
        defer { munmap(memory, count) }
        #expect(madvise(memory, count, MADV_NOHUGEPAGE) == 0)
        memory.initializeMemory(as: UInt8.self, repeating: 1, count: count)
        var pairs = [Int64](repeating: -1, count: 8)
        let found = molt_small_page_ranges(memory, count, &pairs, 4)
        if found >= 0 {  // -1 before Linux 6.7
            #expect(found == 1)
            #expect(pairs[0] == 0 && pairs[1] == Int64(count))
        }
        #expect(molt_small_page_ranges(memory, count, &pairs, 0) == -1, "no room for the one range")
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
