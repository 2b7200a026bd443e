/// When a quantized conversion is good enough. The defaults come from measurements on the
/// trained fixture model (BENCHMARKS.md, "Quantization quality on a trained model"): the
/// default recipe passes them with a wide margin and even q4 Mamba projections stay within,
/// while one damaged expert or one damaged router fails.
public struct Thresholds: Sendable, Equatable {
    /// Largest allowed mean KL(source || converted) over all verification positions, in nats.
    public var maxMeanKL: Double
    /// Smallest allowed share of positions whose most likely token is the same.
    public var minTop1: Double
    /// Smallest allowed share of (position, MoE layer) pairs routed to the same expert.
    public var minRouting: Double

    public init(maxMeanKL: Double = 0.01, minTop1: Double = 0.93, minRouting: Double = 0.95) {
        self.maxMeanKL = maxMeanKL
        self.minTop1 = minTop1
        self.minRouting = minRouting
    }
}
