import MoltCore
import MoltQuant

/// `--target-kl`'s choice of the tensors to widen (Formats/calibration.md, "A quality target
/// instead of a recipe"): each quantized tensor's sensitivity on the calibration tokens, and
/// the promotions that remove the most estimated error per added bit.
public enum Promotion {
    /// A tensor the recipe quantizes, at its current rung of the ladder.
    public struct Candidate: Sendable, Equatable {
        public let name: String
        public let parameters: Int
        /// The source tensor's type: it fixes the ladder's 16-bit rung.
        public let source: DType
        public var type: MoltTensorType
        /// Estimated error at `type` (`e` in the spec).
        public var sensitivity: Double

        public init(name: String, parameters: Int, source: DType, type: MoltTensorType, sensitivity: Double) {
            self.name = name
            self.parameters = parameters
            self.source = source
            self.type = type
            self.sensitivity = sensitivity
        }

        /// The next rung: q4 → q8 → the source's 16-bit type (f16 for any other source).
        public var next: MoltTensorType? {
            switch type {
            case .q4: .q8
            case .q8: source == .bf16 ? .bf16 : .f16
            default: nil
            }
        }
    }

    /// Share of its error a tensor keeps going from q4 to q8: the squared ratio of the step
    /// sizes of a 4-bit asymmetric and an 8-bit symmetric group.
    static let q8ErrorShare = (15.0 / 127.0) * (15.0 / 127.0)

    /// Bits per weight of a type with `groupSize` values per group (scales and minimums are f16).
    public static func bits(_ type: MoltTensorType, groupSize: Int) -> Double {
        switch type {
        case .q4: 4 + 32 / Double(groupSize)
        case .q8: 8 + 16 / Double(groupSize)
        case .f16, .bf16: 16
        case .f32: 32
        }
    }

    /// `e` of one tensor: the relative energy of the error of the `stored` values against the
    /// `source` values ([rows, statistics.columns], row-major), each column weighted by its
    /// importance, times the share of the `calibrationTokens` its statistics saw.
    public static func sensitivity(
        source: UnsafeBufferPointer<Float>, stored: UnsafeBufferPointer<Float>, statistics: InputStatistics, calibrationTokens: Int
    ) throws -> Double {
        let columns = statistics.columns
        guard columns > 0, source.count == stored.count, source.count % columns == 0 else {
            throw MoltError(.usage, "\(source.count) source and \(stored.count) stored values for statistics of \(columns) columns")
        }
        let floor = InputStatistics.importanceFloor * statistics.sumSquares.reduce(0, +) / Double(columns)
        let importance = statistics.sumSquares.map { Float($0 + floor) }
        var error = 0.0, signal = 0.0
        importance.withUnsafeBufferPointer { s in
            for r in 0..<source.count / columns {
                // A row's sums in f32 (a few thousand terms), the total in f64.
                var rowError: Float = 0, rowSignal: Float = 0
                let w = source.baseAddress! + r * columns, q = stored.baseAddress! + r * columns
                for j in 0..<columns {
                    let d = q[j] - w[j]
                    rowError += d * d * s[j]
                    rowSignal += w[j] * w[j] * s[j]
                }
                error += Double(rowError)
                signal += Double(rowSignal)
            }
        }
        let share = Double(statistics.tokens) / Double(max(calibrationTokens, 1))
        return signal > 0 ? share * error / signal : 0
    }

    /// The embedding's second use: each token's row is looked up and enters the residual stream
    /// as stored. Its `e` gains the relative energy of the error of all its rows, unweighted
    /// (every row a token may look up).
    public static func lookupSensitivity(source: UnsafeBufferPointer<Float>, stored: UnsafeBufferPointer<Float>) -> Double {
        var error = 0.0, signal = 0.0
        for (w, q) in zip(source, stored) {
            error += Double((q - w) * (q - w))
            signal += Double(w * w)
        }
        return signal > 0 ? error / signal : 0
    }

    /// The round's goal for the summed sensitivity `estimate`, given the check's worst mean KL
    /// and the target: the KL is taken to scale with the summed estimate, with a margin, and
    /// each round at least halves it.
    public static func goal(estimate: Double, meanKL: Double, target: Double) -> Double {
        guard meanKL > target, meanKL > 0 else { return estimate / 2 }
        return min(0.8 * target * estimate / meanKL, estimate / 2)
    }

    /// The promotions (name → new type) that bring the estimated summed sensitivity to `goal`:
    /// one rung at a time, the most error removed per added bit first (ties by name), and at
    /// least one. Empty when every candidate is at its last rung.
    public static func plan(_ candidates: [Candidate], goal: Double, groupSize: Int) -> [String: MoltTensorType] {
        var current = candidates.sorted { $0.name < $1.name }
        var total = current.reduce(0) { $0 + $1.sensitivity }
        var promoted: [String: MoltTensorType] = [:]
        func gain(_ c: Candidate) -> Double? {
            guard let next = c.next else { return nil }
            let added = (bits(next, groupSize: groupSize) - bits(c.type, groupSize: groupSize)) * Double(max(c.parameters, 1))
            return (c.sensitivity - estimate(c.sensitivity, at: next)) / added
        }
        repeat {
            var best: (index: Int, gain: Double)?
            for (i, c) in current.enumerated() {
                guard let g = gain(c) else { continue }
                if best == nil || g > best!.gain { best = (i, g) }
            }
            guard let (i, _) = best else { break }
            let next = current[i].next!
            let after = estimate(current[i].sensitivity, at: next)
            total += after - current[i].sensitivity
            current[i].type = next
            current[i].sensitivity = after
            promoted[current[i].name] = next
        } while total > goal
        return promoted
    }

    /// A tensor's estimated error once stored as `type`, from its error one rung below.
    static func estimate(_ sensitivity: Double, at type: MoltTensorType) -> Double {
        type == .q8 ? sensitivity * q8ErrorShare : 0
    }
}
