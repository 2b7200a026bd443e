import CMoltKernels

/// The read bandwidth a decode step's bound divides by (Formats/kernels.md, "The bandwidth
/// bound"). Summing a buffer reaches a different rate on 4 KiB pages than on 2 MiB ones (the
/// TLB misses differ), and which one an ordinary buffer gets depends on the kernel's
/// transparent-huge-page setting and on how fragmented memory is at the moment: a probe of one
/// buffer was bimodal from run to run on the same machine (BENCHMARKS.md, "The bandwidth
/// bound (item 4)"). So both are measured, each buffer advised one way, and the better one
/// bounds a model too small to leave the caches; a larger model's decode is bounded by reads
/// of its own mapped files (`read(_:threads:repeats:)`), taken after each timed run, since the
/// rate every reader gets also moves with time.
public enum MemoryBandwidth {
    public enum Pages: String, Sendable {
        case small, huge
    }

    /// One buffer's measurement.
    public struct Measurement: Sendable {
        public let pages: Pages
        /// Bytes per second: the best of the passes.
        public let bytesPerSecond: Double
        /// The share of the buffer the kernel actually backed with huge pages (nil where it does
        /// not say): advice is not a promise, and a "huge" buffer the kernel kept on small pages
        /// measures small pages.
        public let hugePageShare: Double?
    }

    /// Both buffers' measurements, and the better one.
    public struct Probe: Sendable {
        public let small: Measurement
        public let huge: Measurement
        public var best: Measurement { huge.bytesPerSecond > small.bytesPerSecond ? huge : small }
    }

    /// Read bandwidth with `threads` threads: the best of `repeats` passes summing a `bytes`
    /// buffer on `pages`. Make `bytes` several times the last-level cache, or this measures the
    /// cache. Nil if the buffer could not be allocated.
    public static func read(threads: Int, bytes: Int = 1 << 30, repeats: Int = 5, pages: Pages) -> Measurement? {
        let result = molt_read_bandwidth(Int32(clamping: threads), max(bytes, 0), Int32(clamping: repeats), pages == .huge ? 1 : 0)
        guard result.bytes_per_second > 0 else { return nil }
        return Measurement(
            pages: pages, bytesPerSecond: result.bytes_per_second,
            hugePageShare: result.huge_page_share >= 0 ? min(1, result.huge_page_share) : nil)
    }

    /// Read bandwidth over memory the caller has (a model's file mappings: the pages decode
    /// reads, wherever the page cache put them): the best of `repeats` passes summing it with
    /// `threads` threads. Nil for empty or misaligned memory, or if the pool could not start.
    public static func read(_ memory: UnsafeRawBufferPointer, threads: Int, repeats: Int = 5) -> Double? {
        guard let base = memory.baseAddress else { return nil }
        let rate = molt_read_bandwidth_of(Int32(clamping: threads), base, memory.count, Int32(clamping: repeats))
        return rate > 0 ? rate : nil
    }

    /// Both page sizes, one after the other, each buffer freed before the next is made.
    public static func probe(threads: Int, bytes: Int = 1 << 30, repeats: Int = 5) -> Probe? {
        guard let small = read(threads: threads, bytes: bytes, repeats: repeats, pages: .small),
            let huge = read(threads: threads, bytes: bytes, repeats: repeats, pages: .huge)
        else { return nil }
        return Probe(small: small, huge: huge)
    }
}
