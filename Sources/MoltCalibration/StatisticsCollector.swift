import MoltCore
import MoltQuant
import MoltRuntime

/// Records the inputs of every quantizable weight as the model runs (Formats/calibration.md),
/// and a reservoir of each MoE layer's input rows for experts the router starves.
final class StatisticsCollector: ForwardObserver {
    /// A class, so that adding rows updates the sums in place rather than copying them.
    final class Accumulator {
        var tokens = 0
        var sumSquares: [Double]
        /// With the Gram matrix: the rows themselves in f16 while they take less room than an f64
        /// Gram (fewer than 4 · columns) and fit f16's range, then the Gram matrix.
        var rows: [Float16]?
        var gram: [Double]?

        init(columns: Int, gram: Bool) {
            sumSquares = [Double](repeating: 0, count: columns)
            rows = gram ? [] : nil
        }

        var secondMoment: InputStatistics.SecondMoment? {
            if let gram { return .gram(gram) }
            return rows.map(InputStatistics.SecondMoment.rows)
        }
    }

    let gram: Bool
    let reservoirStride: Int
    private(set) var accumulators: [String: Accumulator] = [:]
    /// MoE layer -> its reservoir rows [n, H], and how many of its rows were seen.
    private(set) var reservoirs: [Int: [Float]] = [:]
    private var seen: [Int: Int] = [:]
    private let routerLayers: [String: Int]
    private let quantizable: Set<String>
    /// f32 scratch for one call's Gram, [columns, columns].
    private var scratch: [Float] = []

    init(config: BlackMambaConfig, gram: Bool, reservoirStride: Int) {
        self.gram = gram
        self.reservoirStride = max(1, reservoirStride)
        var routers: [String: Int] = [:]
        for (i, layer) in config.layers.enumerated() {
            guard case .moe = layer else { continue }
            routers[TensorNames.router(i, "weight")] = i }
        routerLayers = routers
        quantizable = Set(config.expectedTensors.filter { $0.shape.count == 2 && Calibration.isQuantizable($0.name) }.map(\.name))
    }

    func multiplying(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int) {
        if let layer = routerLayers[weight] {
            var kept = reservoirs[layer] ?? []
            let first = seen[layer] ?? 0
            for r in 0..<count where (first + r) % reservoirStride == 0 {
                kept += UnsafeBufferPointer(start: rows + r * stride, count: columns)
            }
            reservoirs[layer] = kept
            seen[layer] = first + count
            return
        }
        guard quantizable.contains(weight) else { return }
        add(weight, rows: rows, count: count, stride: stride, columns: columns)
    }

    /// Adds `count` rows to the statistics of `weight`.
    func add(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int) {
        let entry = accumulators[weight] ?? Accumulator(columns: columns, gram: gram)
        accumulators[weight] = entry
        entry.tokens += count
        entry.sumSquares.withUnsafeMutableBufferPointer { sums in
            for r in 0..<count {
                let row = rows + r * stride
                for j in 0..<columns { sums[j] += Double(row[j]) * Double(row[j]) }
            }
        }
        guard gram else { return }
        let fits = entry.rows != nil && entry.tokens < 4 * columns && (0..<count).allSatisfy { r in
            (0..<columns).allSatisfy { abs(rows[r * stride + $0]) <= Float(Float16.greatestFiniteMagnitude) }
        }
        if fits {
            for r in 0..<count { entry.rows! += UnsafeBufferPointer(start: rows + r * stride, count: columns).map { Float16($0) } }
            return
        }
        if let kept = entry.rows {
            // Too many rows for f16 rows to save memory (or a value beyond f16): the Gram from here on.
            entry.rows = nil
            entry.gram = [Double](repeating: 0, count: columns * columns)
            GramMatrix.add(halfRows: kept, columns: columns, into: &entry.gram!, scratch: &scratch)
        }
        GramMatrix.add(rows: rows, count: count, stride: stride, columns: columns, into: &entry.gram!, scratch: &scratch)
    }

    func tokens(of weight: String) -> Int { accumulators[weight]?.tokens ?? 0 }
}
