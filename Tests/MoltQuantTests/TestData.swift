import Foundation
import MoltCore

@testable import MoltQuant

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

/// Values that exercise the corners of the search, in runs of 16 (which straddle groups):
/// constant runs, signed zeros, f32 subnormals, values below f16's normal scales and around its
/// subnormal boundary, values near f16's largest, outliers, all-negative runs, small integers.
func cornerValues(_ count: Int, seed: UInt64) -> [Float] {
    var random = Random(seed: seed)
    var out: [Float] = []
    while out.count < count {
        let mode = random.next() % 10
        for i in 0..<16 {
            switch mode {
            case 0: out.append(0.7)
            case 1: out.append(i % 2 == 0 ? 0 : -0.0)
            case 2: out.append(Float(1e-39 as Double) * random.normal())  // subnormal
            case 3: out.append(1e-6 * random.normal())
            case 4: out.append(3e-5 * random.normal())
            case 5: out.append(6e4 * (random.unit() * 2 - 1))
            case 6: out.append(random.unit() < 0.1 ? 100 * random.normal() : 0.01 * random.normal())
            case 7: out.append(-2 - random.unit())
            case 8: out.append(Float(Int(random.next() % 31)) - 15)
            default: out.append(0.02 * random.normal())
            }
        }
    }
    return Array(out.prefix(count))
}

/// The error of `decoded` against `original`, summed as Formats/quantization.md specifies: per
/// row 8 f32 lanes (lane i over columns i, i + 8, ...) added in order plus the tail, in f64 per
/// block of rows, blocks merged in order.
func measuredError(_ original: [Float], _ decoded: [Float], columns: Int) -> QuantError {
    let rows = original.count / columns, perBlock = Quantizer.blockRows(columns: columns)
    var total = QuantError()
    for first in stride(from: 0, to: rows, by: perBlock) {
        var signal = 0.0, error = 0.0, worst: Float = 0
        for r in first..<min(first + perBlock, rows) {
            var laneSignal = [Float](repeating: 0, count: 8), laneError = laneSignal, laneWorst = laneSignal
            let whole = columns / 8 * 8
            for c in 0..<whole {
                let x = original[r * columns + c], d = x - decoded[r * columns + c]
                laneSignal[c % 8] += x * x
                laneError[c % 8] += d * d
                laneWorst[c % 8] = max(laneWorst[c % 8], abs(d))
            }
            var tailSignal: Float = 0, tailError: Float = 0
            for c in whole..<columns {
                let x = original[r * columns + c], d = x - decoded[r * columns + c]
                tailSignal += x * x
                tailError += d * d
                worst = max(worst, abs(d))
            }
            signal += Double(laneSignal.reduce(-0, +)) + Double(tailSignal)
            error += Double(laneError.reduce(-0, +)) + Double(tailError)
            worst = max(worst, laneWorst.max()!)
        }
        total.merge(QuantError(signalEnergy: signal, errorEnergy: error, maxAbs: worst, count: (min(first + perBlock, rows) - first) * columns))
    }
    return total
}
