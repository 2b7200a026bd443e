import MoltKernels
import Testing

@Test func readBandwidthIsPositive() throws {
    let rate = try #require(MemoryBandwidth.read(threads: 2, bytes: 8 << 20, repeats: 2))
    #expect(rate > 1e8)
}
