/// When a quantized conversion is good enough. The defaults come from measurements on the
/// trained fixture model (BENCHMARKS.md, "Quantization quality", Scripts/quality.py): the
/// default recipe (q4 experts, q8 Mamba) gives mean KL 3e-4, top-1 0.98-0.99 and routing
/// agreement 0.993 or more; even q4 Mamba projections stay within (KL 4.3e-3, top-1 0.944,
/// routing 0.957); one expert of 32 damaged (negated, tripled) gives KL 0.025-0.040 and
/// top-1 0.885-0.906 and fails; a damaged router sends 0% of a layer's tokens to the same
/// expert and fails.
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
