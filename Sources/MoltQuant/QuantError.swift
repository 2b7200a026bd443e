import Foundation

/// How far dequantized values are from the originals, accumulated over any number of rows.
/// Sums are in Double and merged in a fixed order, so the result does not depend on threads.
public struct QuantError: Sendable, Equatable {
    public private(set) var signalEnergy: Double = 0
    public private(set) var errorEnergy: Double = 0
    public private(set) var maxAbs: Float = 0
    public private(set) var count: Int = 0

    public init() {}

    init(signalEnergy: Double, errorEnergy: Double, maxAbs: Float, count: Int) {
        self.signalEnergy = signalEnergy
        self.errorEnergy = errorEnergy
        self.maxAbs = maxAbs
        self.count = count
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
