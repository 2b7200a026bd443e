import Foundation

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct Random {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    mutating func normal() -> Float {
        let u = max(unit(), 1e-7), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

enum Distribution: String, CaseIterable {
    case normal, uniform, outliers, offset

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var random = Random(state: seed)
        return (0..<count).map { _ in
            switch self {
            case .normal: 0.02 * random.normal()
            case .uniform: random.unit() * 2 - 1
            // Mostly small weights with rare large ones: the case that punishes absmax scales.
            case .outliers: random.unit() < 0.01 ? 30 * random.normal() : random.normal()
            // Groups whose values sit away from zero: what q4's minimum is for.
            case .offset: 3 + 0.5 * random.normal()
            }
        }
    }
}
