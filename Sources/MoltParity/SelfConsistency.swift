import MoltRuntime

/// Prefill against step-by-step decode on one model: the two paths compute the same function
/// in different orders, so they agree to float32 rounding unless the weights or the runtime
/// are broken.
public struct SelfConsistency: Sendable {
    /// Largest relative L2 distance between the two paths' logits over all positions.
    public static let tolerance = 1e-5

    public let relativeL2: Double
    public let positions: Int
    public var passed: Bool { relativeL2 <= Self.tolerance }

    public init(model: BlackMambaModel, sequences: [VerificationSequence]) throws {
        var metrics = LogitMetrics()
        for sequence in sequences {
            let prefill = try model.prefill(sequence.tokens).logits
            let state = model.makeState()
            var decoded: [Float] = []
            for token in sequence.tokens { decoded += try model.decode(token, state: state) }
            metrics.add(source: prefill[...], converted: decoded[...], vocab: model.vocabRows, next: [])
        }
        relativeL2 = metrics.relativeL2
        positions = metrics.positions
    }
}
