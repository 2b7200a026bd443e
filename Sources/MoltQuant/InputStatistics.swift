import MoltCore

/// What calibration recorded about the inputs of one weight [out, in] (Formats/calibration.md):
/// the rows it multiplied, each column's sum of squares and, for `gptq`, the Gram matrix.
public struct InputStatistics: Sendable, Equatable {
    /// How the Gram matrix XᵀX is held: summed (f64, `in²` values), or as the input rows
    /// themselves (f16, `tokens · in` values), which take less memory while a weight has seen
    /// fewer than 4 · in tokens, as an expert of a large model usually has.
    public enum SecondMoment: Sendable, Equatable {
        case gram([Double])
        case rows([Float16])
    }

    public let columns: Int
    public let tokens: Int
    /// Σ x_j² per input column.
    public let sumSquares: [Double]
    /// nil when not collected.
    public let secondMoment: SecondMoment?

    public init(columns: Int, tokens: Int, sumSquares: [Double], gram: [Double]? = nil) throws {
        try self.init(columns: columns, tokens: tokens, sumSquares: sumSquares, secondMoment: gram.map(SecondMoment.gram))
    }

    public init(columns: Int, tokens: Int, sumSquares: [Double], secondMoment: SecondMoment?) throws {
        let consistent: Bool
        switch secondMoment {
        case .gram(let g): consistent = g.count == columns * columns
        case .rows(let r): consistent = columns > 0 ? r.count % columns == 0 : r.isEmpty
        case nil: consistent = true
        }
        guard sumSquares.count == columns, consistent else {
            throw MoltError(.usage, "statistics of \(sumSquares.count) columns (\(String(describing: secondMoment).prefix(40))) for \(columns) columns")
        }
        self.columns = columns
        self.tokens = tokens
        self.sumSquares = sumSquares
        self.secondMoment = secondMoment
    }

    /// Equal when they say the same: kept rows equal the Gram matrix they form (as a version 1
    /// statistics file holds it; version 2 keeps the rows themselves).
    public static func == (a: Self, b: Self) -> Bool {
        a.columns == b.columns && a.tokens == b.tokens && a.sumSquares == b.sumSquares
            && (a.secondMoment == b.secondMoment || a.gram == b.gram)
    }

    /// Σ x_i x_j, row-major [columns, columns] (formed from the rows when they are kept), or nil
    /// when not collected.
    public var gram: [Double]? {
        switch secondMoment {
        case nil: return nil
        case .gram(let g): return g
        case .rows(let r):
            var total = [Double](repeating: 0, count: columns * columns), scratch: [Float] = []
            GramMatrix.add(halfRows: r, columns: columns, into: &total, scratch: &scratch)
            return total
        }
    }

    /// Share of the mean importance every value gets on top of its own, so that a column no
    /// calibration token excited still counts a little (text outside the calibration may).
    /// Larger floors flatten the weights towards the unweighted search and lost on the trained
    /// fixture's development text (BENCHMARKS.md, "Tuning on development text").
    public static let importanceFloor = 0.01

    /// The weighted search's per-value weights for a layout: groups * G values, each group's
    /// `sumSquares + floor * mean` divided by the group's largest (Formats/quantization.md).
    /// Uniform importance gives weights of exactly 1, hence the unweighted search.
    public func searchWeights(layout: QuantLayout) throws -> [Float] {
        guard layout.columns == columns else {
            throw MoltError(.usage, "statistics of \(columns) columns for a matrix of \(layout.columns)")
        }
        let mean = columns > 0 ? sumSquares.reduce(0, +) / Double(columns) : 0
        var weights = [Float](repeating: 0, count: layout.groups * layout.groupSize)
        for g in 0..<layout.groups {
            let range = g * layout.groupSize..<min((g + 1) * layout.groupSize, columns)
            let raw = range.map { sumSquares[$0] + Self.importanceFloor * mean }
            let largest = raw.max() ?? 0
            for (j, value) in zip(range, raw) { weights[j] = largest > 0 ? Float(value / largest) : 1 }
        }
        return weights
    }
}
