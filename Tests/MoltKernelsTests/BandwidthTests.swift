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

@Test func probeBoundsWithTheBetterBuffer() throws {
    let probe = try #require(MemoryBandwidth.probe(threads: 1, bytes: 8 << 20, repeats: 1))
    #expect(probe.best.bytesPerSecond == max(probe.small.bytesPerSecond, probe.huge.bytesPerSecond))
    #expect(probe.small.pages == .small && probe.huge.pages == .huge)
}
