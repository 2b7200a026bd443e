import CMoltKernels

public enum MemoryBandwidth {
    /// Read bandwidth in bytes per second with `threads` threads: the best of `repeats` passes
    /// summing a `bytes` buffer. Make `bytes` several times the last-level cache, or this
    /// measures the cache. Nil if the buffer could not be allocated.
    public static func read(threads: Int, bytes: Int = 1 << 30, repeats: Int = 5) -> Double? {
        let rate = molt_read_bandwidth(Int32(clamping: threads), max(bytes, 0), Int32(clamping: repeats))
        return rate > 0 ? rate : nil
    }
}
