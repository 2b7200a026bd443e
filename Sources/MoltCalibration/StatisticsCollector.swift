import COpenBLAS
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
        var gram: [Double]?

        init(columns: Int, gram: Bool) {
            sumSquares = [Double](repeating: 0, count: columns)
            self.gram = gram ? [Double](repeating: 0, count: columns * columns) : nil
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
        // In chunks of at most 512 rows: an f32 XᵀX each (upper triangle), added to the f64 total.
        if scratch.count < columns * columns { scratch = [Float](repeating: 0, count: columns * columns) }
        scratch.withUnsafeMutableBufferPointer { c in
            entry.gram!.withUnsafeMutableBufferPointer { total in
                for first in Swift.stride(from: 0, to: count, by: 512) {
                    let n = min(512, count - first)
                    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(columns), Int32(n), 1, rows + first * stride,
                                Int32(stride), 0, c.baseAddress, Int32(columns))
                    for i in 0..<columns {
                        for j in i..<columns {
                            let value = Double(c[i * columns + j])
                            total[i * columns + j] += value
                            if j != i { total[j * columns + i] += value }
                        }
                    }
                }
            }
        }
    }

    func tokens(of weight: String) -> Int { accumulators[weight]?.tokens ?? 0 }
}
