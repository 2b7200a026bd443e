import MoltKernels
import Testing

@Test func readBandwidthIsMeasuredOnBothPageSizes() throws {
    let small = try #require(MemoryBandwidth.read(threads: 2, bytes: 8 << 20, repeats: 2, pages: .small))
    let huge = try #require(MemoryBandwidth.read(threads: 2, bytes: 8 << 20, repeats: 2, pages: .huge))
    #expect(small.bytesPerSecond > 1e8 && huge.bytesPerSecond > 1e8)
    // Advised against huge pages, the kernel gives the small buffer none.
    if let share = small.hugePageShare { #expect(share == 0) }
    if let share = huge.hugePageShare { #expect(share >= 0 && share <= 1) }
}

/// Memory the caller has (a model's mapped files) is read as it is: a rate for a real buffer,
/// none for an empty or misaligned one.
@Test func readBandwidthOfTheCallersMemory() throws {
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)
    defer { bytes.deallocate() }
    bytes.initializeMemory(as: UInt8.self, repeating: 1)
    let rate = try #require(MemoryBandwidth.read(UnsafeRawBufferPointer(bytes), threads: 2, repeats: 2))
    #expect(rate > 1e8)
    #expect(MemoryBandwidth.read(UnsafeRawBufferPointer(rebasing: bytes[0..<0]), threads: 2) == nil)
    #expect(MemoryBandwidth.read(UnsafeRawBufferPointer(rebasing: bytes[1...]), threads: 2) == nil)
}

@Test func probeBoundsWithTheBetterBuffer() throws {
    let probe = try #require(MemoryBandwidth.probe(threads: 1, bytes: 8 << 20, repeats: 1))
    #expect(probe.best.bytesPerSecond == max(probe.small.bytesPerSecond, probe.huge.bytesPerSecond))
    #expect(probe.small.pages == .small && probe.huge.pages == .huge)
}
