import MoltRuntime

/// Prefill against step-by-step decode on one model: the two paths compute the same function
/// in different orders, so they agree to float32 rounding unless the weights or the runtime
/// are broken, or to the rounding of integer activations where decode uses them (int16 for q8
/// weights, int8 for q4).
public struct SelfConsistency: Sendable {
    /// Largest relative L2 distance between the two paths' logits over all positions. With
    /// integer decode activations the trained fixture's q4 conversion measures 1.7e-3 and the
    /// small random fixtures up to 1.4e-2; a broken file or kernel gives errors of order 1.
    public static func tolerance(for model: BlackMambaModel) -> Double {
        model.quantizesDecodeActivations ? 5e-2 : 1e-5
    }

    public let relativeL2: Double
    public let positions: Int
    public let tolerance: Double
    public var passed: Bool { relativeL2 <= tolerance }

    public init(model: BlackMambaModel, sequences: [VerificationSequence]) throws {
        tolerance = Self.tolerance(for: model)
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
