/// When a quantized conversion is good enough. The defaults come from measurements on the
/// trained fixture model (BENCHMARKS.md, "Quantization quality"): they pass q8 and q4 experts
/// with a margin and fail a conversion with one damaged expert.
public struct Thresholds: Sendable, Equatable {
    /// Largest allowed mean KL(source || converted) over all verification positions, in nats.
    public var maxMeanKL: Double
    /// Smallest allowed share of positions whose most likely token is the same.
    public var minTop1: Double
    /// Smallest allowed share of (position, MoE layer) pairs routed to the same expert.
    public var minRouting: Double

    public init(maxMeanKL: Double = 0.05, minTop1: Double = 0.85, minRouting: Double = 0.85) {
        self.maxMeanKL = maxMeanKL
        self.minTop1 = minTop1
        self.minRouting = minRouting
    }
}
