import MoltCore

/// What calibration recorded about the inputs of one weight [out, in] (Formats/calibration.md):
/// the rows it multiplied, each column's sum of squares and, for `gptq`, the Gram matrix.
public struct InputStatistics: Sendable, Equatable {
    public let columns: Int
    public let tokens: Int
    /// Σ x_j² per input column.
    public let sumSquares: [Double]
    /// Σ x_i x_j, row-major [columns, columns], or nil when not collected.
    public let gram: [Double]?

    public init(columns: Int, tokens: Int, sumSquares: [Double], gram: [Double]? = nil) throws {
        guard sumSquares.count == columns, gram.map({ $0.count == columns * columns }) ?? true else {
            throw MoltError(.usage, "statistics of \(sumSquares.count) columns (Gram \(gram?.count ?? 0)) for \(columns) columns")
        }
        self.columns = columns
        self.tokens = tokens
        self.sumSquares = sumSquares
        self.gram = gram
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
