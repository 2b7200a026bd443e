import Foundation

/// How far dequantized values are from the originals, accumulated over any number of rows.
/// Sums are in Double and merged in a fixed order, so the result does not depend on threads.
public struct QuantError: Sendable, Equatable {
    public private(set) var signalEnergy: Double = 0
    public private(set) var errorEnergy: Double = 0
    public private(set) var maxAbs: Float = 0
    public private(set) var count: Int = 0

    public init() {}

    /// Adds `original[i]` vs `approximation[i]` for i < n.
    public mutating func add(original: UnsafePointer<Float>, approximation: UnsafePointer<Float>, count n: Int) {
        var signal = SIMD8<Float>(), error = SIMD8<Float>(), worst = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(original + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(approximation + i).loadUnaligned(as: SIMD8<Float>.self)
            let d = x - y
            signal += x * x
            error += d * d
            worst = lanewiseMax(worst, lanewiseMax(d, -d))
            i += 8
        }
        var tailSignal: Float = 0, tailError: Float = 0, tailWorst = largest(worst)
        while i < n {
            let d = original[i] - approximation[i]
            tailSignal += original[i] * original[i]
            tailError += d * d
            tailWorst = max(tailWorst, abs(d))
            i += 1
        }
        signalEnergy += Double(signal.sum()) + Double(tailSignal)
        errorEnergy += Double(error.sum()) + Double(tailError)
        maxAbs = max(maxAbs, tailWorst)
        count += n
    }

    public mutating func merge(_ other: QuantError) {
        signalEnergy += other.signalEnergy
        errorEnergy += other.errorEnergy
        maxAbs = max(maxAbs, other.maxAbs)
        count += other.count
    }

    /// sqrt(sum of squared errors / sum of squared values); 0 for an all-zero original.
    public var relativeRMS: Double { signalEnergy > 0 ? (errorEnergy / signalEnergy).squareRoot() : (errorEnergy > 0 ? .infinity : 0) }

    /// Signal-to-quantization-noise ratio in dB; nil when there is no error at all.
    public var sqnrDB: Double? {
        guard errorEnergy > 0 else { return nil }
        guard signalEnergy > 0 else { return -.infinity }
        return 10 * log10(signalEnergy / errorEnergy)
    }
}
