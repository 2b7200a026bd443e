extension BlackMambaModel {
    /// Splits 0..<count into `threads` contiguous blocks and runs them concurrently on the
    /// kernels' threads, which spin between products: a decode step's element-wise loops can
    /// then share a core that would otherwise wait. Each index is handled by exactly one block,
    /// so results do not depend on scheduling.
    func parallelBlocks(_ count: Int, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threads, count))
        if parts == 1 { return body(0..<count) }
        kernels.parallel(parts) { p in
            body(count * p / parts..<count * (p + 1) / parts)
        }
    }
}
