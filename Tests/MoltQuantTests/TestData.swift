import Foundation
import MoltCore

/// The tests' seeded source of data, so failures reproduce.
typealias Random = SplitMix64

enum Distribution: String, CaseIterable {
    case normal, uniform, outliers, offset

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var random = Random(seed: seed)
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
