import Foundation

/// SplitMix64: a tiny seeded generator, the same sequence on every machine. Verification
/// sequences, benchmark prompts, samplers' seeds and test data all come from it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), with 24 random bits.
    public mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Uniform in [low, high), with 53 random bits.
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) * 0x1p-53
    }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u = max(unit(), 1e-7), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    /// `count` ids uniform in [0, limit): token sequences for verification and benchmarks.
    public mutating func tokens(_ count: Int, below limit: Int) -> [Int] {
        (0..<count).map { _ in Int(next() % UInt64(limit)) }
    }
}
