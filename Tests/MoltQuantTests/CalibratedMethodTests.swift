import CMoltQuant
import Foundation
import MoltCore
import XCTest

@testable import MoltQuant

/// The calibrated methods (Formats/quantization.md): the weighted search and GPTQ.
final class CalibratedMethodTests: XCTestCase {
    private func bytes(_ values: [Float], rows: Int, columns: Int, type: QuantType, groupSize: Int = 32, method: QuantMethod,
                       statistics: InputStatistics? = nil, path: KernelPath = .best) throws -> [UInt8] {
        let matrix = try values.withUnsafeBufferPointer {
            try Quantizer.quantize($0, rows: rows, columns: columns, type: type, groupSize: groupSize, method: method,
                                   statistics: statistics, path: path).matrix
        }
        return withExtendedLifetime(matrix) { Array(matrix.storage.bytes) }
    }

    func testWeightedSearchWithUniformImportanceIsTheSearch() throws {
        for (columns, groupSize) in [(256, 32), (100, 32), (40, 32), (200, 64)] {
            for type in QuantType.allCases {
                for distribution in Distribution.allCases {
                    let rows = 24, values = distribution.values(rows * columns, seed: UInt64(columns))
                    let uniform = try InputStatistics(columns: columns, tokens: 7, sumSquares: Array(repeating: 3.7, count: columns))
                    for path in Quantizer.paths {
                        let searched = try bytes(values, rows: rows, columns: columns, type: type, groupSize: groupSize, method: .search, path: path)
                        let weighted = try bytes(values, rows: rows, columns: columns, type: type, groupSize: groupSize, method: .weighted,
                                                 statistics: uniform, path: path)
                        XCTAssertEqual(searched, weighted, "\(type) \(distribution) [\(rows), \(columns)] G=\(groupSize) \(path)")
                    }
                }
            }
        }
    }

    /// Every path gives the weighted search the same bytes, as they do the unweighted one.
    func testWeightedSearchIsTheSameOnEveryPath() throws {
        let rows = 16, columns = 100, values = Distribution.outliers.values(rows * columns, seed: 5)
        var random = Random(seed: 9)
        let statistics = try InputStatistics(columns: columns, tokens: 50, sumSquares: (0..<columns).map { _ in Double(random.unit()) * 10 })
        for type in QuantType.allCases {
            let portable = try bytes(values, rows: rows, columns: columns, type: type, method: .weighted, statistics: statistics, path: .scalar)
            for path in Quantizer.paths {
                XCTAssertEqual(try bytes(values, rows: rows, columns: columns, type: type, method: .weighted, statistics: statistics, path: path),
                               portable, "\(type) \(path)")
            }
        }
    }

    /// Decodes row r's values from Formats/molt.md, in f64.
    private func decode(_ stored: [UInt8], layout: QuantLayout, row r: Int) -> [Double] {
        let base = r * layout.rowStride, g = layout.groupSize
        func half(_ at: Int) -> Double { Double(Float(Float16(bitPattern: UInt16(stored[at]) | UInt16(stored[at + 1]) << 8))) }
        return (0..<layout.columns).map { c in
            let group = c / g, j = c % g
            let scale = half(base + layout.scalesOffset + 2 * group)
            if layout.type == .q8 { return scale * Double(Int8(bitPattern: stored[base + c])) }
            let byte = stored[base + group * g / 2 + j % (g / 2)]
            let q = j < g / 2 ? byte & 15 : byte >> 4
            return scale * Double(q) + half(base + layout.minimumsOffset + 2 * group)
        }
    }

    /// On a tiny matrix with uneven importance, the weighted search's groups, scored in f64 by
    /// the weighted error, beat round to nearest and the unweighted search's choice (which
    /// minimised the plain error), and the weighted error of the whole matrix falls.
    func testWeightedSearchLowersTheWeightedErrorAgainstAFloat64Reference() throws {
        let rows = 4, columns = 64, values = Distribution.normal.values(rows * columns, seed: 21)
        var random = Random(seed: 3)
        // A few loud columns, the rest quiet: what activations look like.
        let importance = (0..<columns).map { _ in random.unit() < 0.1 ? 100.0 : Double(random.unit()) }
        let statistics = try InputStatistics(columns: columns, tokens: 10, sumSquares: importance)
        let layout = try QuantLayout(type: .q4, rows: rows, columns: columns, groupSize: 32)
        let mean = importance.reduce(0, +) / Double(columns)
        func weightedError(_ stored: [UInt8], group: Int, row: Int) -> Double {
            let decoded = decode(stored, layout: layout, row: row)
            return (group * 32..<(group + 1) * 32).reduce(0) { total, c in
                let d = Double(values[row * columns + c]) - decoded[c]
                return total + (importance[c] + InputStatistics.importanceFloor * mean) * d * d
            }
        }
        let weighted = try bytes(values, rows: rows, columns: columns, type: .q4, method: .weighted, statistics: statistics)
        let searched = try bytes(values, rows: rows, columns: columns, type: .q4, method: .search)
        let nearest = try bytes(values, rows: rows, columns: columns, type: .q4, method: .nearest)
        var totals = (weighted: 0.0, searched: 0.0)
        for row in 0..<rows {
            for group in 0..<2 {
                let w = weightedError(weighted, group: group, row: row)
                XCTAssertLessThanOrEqual(w, weightedError(nearest, group: group, row: row) * (1 + 1e-6), "row \(row) group \(group)")
                totals.weighted += w
                totals.searched += weightedError(searched, group: group, row: row)
            }
        }
        XCTAssertLessThan(totals.weighted, 0.9 * totals.searched)
    }

    // MARK: GPTQ

    /// H⁻¹'s upper Cholesky factor written again from the paper in f64: H⁻¹ by Gauss-Jordan
    /// elimination, then its factor U (H⁻¹ = Uᵀ U) row by row. Also returns H and H⁻¹.
    private func referenceFactor(gram: [Double], tokens: Int, columns n: Int) -> (u: [Double], h: [Double], inverse: [Double]) {
        var h = gram.map { $0 / Double(tokens) }
        let damp = 0.01 * (0..<n).map { h[$0 * n + $0] }.reduce(0, +) / Double(n)
        for i in 0..<n { h[i * n + i] += damp }
        // Gauss-Jordan on [H | I].
        var a = h, inv = (0..<n * n).map { $0 / n == $0 % n ? 1.0 : 0.0 }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            for k in 0..<n {
                a.swapAt(col * n + k, pivot * n + k)
                inv.swapAt(col * n + k, pivot * n + k)
            }
            let p = a[col * n + col]
            for k in 0..<n { a[col * n + k] /= p; inv[col * n + k] /= p }
            for r in 0..<n where r != col {
                let f = a[r * n + col]
                for k in 0..<n { a[r * n + k] -= f * a[col * n + k]; inv[r * n + k] -= f * inv[col * n + k] }
            }
        }
        // Upper U with inv = Uᵀ U: U[i][j] = (inv[i][j] - Σ_{k<i} U[k][i] U[k][j]) / U[i][i].
        var u = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            var d = inv[i * n + i]
            for k in 0..<i { d -= u[k * n + i] * u[k * n + i] }
            u[i * n + i] = d.squareRoot()
            for j in i + 1..<n {
                var s = inv[i * n + j]
                for k in 0..<i { s -= u[k * n + i] * u[k * n + j] }
                u[i * n + j] = s / u[i * n + i]
            }
        }
        return (u, h, inv)
    }

    /// GPTQ written again from the paper in f64 (`referenceFactor`, then the column loop); only
    /// each group's (scale, minimum) comes from the quantizer's weighted search (tested on its
    /// own above), given the group's current values.
    private func referenceGPTQ(
        _ w: [Float], rows: Int, columns n: Int, gram: [Double], tokens: Int, type: QuantType, weights: [Float]
    ) -> [[Double]] {
        let u = referenceFactor(gram: gram, tokens: tokens, columns: n).u
        return (0..<rows).map { r in
            var row = (0..<n).map { Double(w[r * n + $0]) }
            var out = [Double](repeating: 0, count: n)
            for start in stride(from: 0, to: n, by: 32) {
                let group = (start..<min(start + 32, n)).map { Float(row[$0]) }
                let (scale, minimum) = GPTQ.searched(group, type: type, groupSize: 32, weights: weights[start..<start + 32])
                for i in start..<min(start + 32, n) {
                    let x = Float(row[i])
                    let q: Float = type == .q4
                        ? (scale == 0 ? 0 : ((x - minimum) * (1 / scale)).clamped(0, 15).rounded(.toNearestOrEven))
                        : (x * (1 / scale)).clamped(-127, 127).rounded(.toNearestOrEven)
                    out[i] = Double(scale * q + minimum)
                    let e = (row[i] - out[i]) / u[i * n + i]
                    for j in i + 1..<n { row[j] -= e * u[i * n + j] }
                }
            }
            return out
        }
    }

    /// `tokens` input rows with correlated columns (so that compensation has something to do)
    /// and their Gram matrix, in f64.
    private func correlatedInputs(tokens: Int, columns: Int, seed: UInt64) -> (x: [Double], gram: [Double]) {
        var random = Random(seed: seed)
        let x = (0..<tokens).flatMap { _ -> [Double] in
            let common = Double(random.normal())
            return (0..<columns).map { c in Double(random.normal()) + (c % 4 == 0 ? 2 * common : 0) }
        }
        var gram = [Double](repeating: 0, count: columns * columns)
        for t in 0..<tokens { for i in 0..<columns { for j in 0..<columns { gram[i * columns + j] += x[t * columns + i] * x[t * columns + j] } } }
        return (x, gram)
    }

    /// The factor from one Cholesky factorization of the reversed H and one triangular inverse
    /// equals the reference's (H⁻¹ formed, then factored) to within rounding: both are backward
    /// stable, so each is within about γ_n · κ(H) of the exact U, relative to its largest entry
    /// (γ_n = n ε / (1 - n ε); κ bounded above by ‖H‖_F ‖H⁻¹‖_F), and the two within twice that.
    func testInverseFactorIsTheReferenceFactor() throws {
        for (columns, tokens) in [(5, 3), (64, 200), (288, 40)] {
            let gram = correlatedInputs(tokens: tokens, columns: columns, seed: UInt64(columns)).gram
            let statistics = try InputStatistics(
                columns: columns, tokens: tokens, sumSquares: (0..<columns).map { gram[$0 * columns + $0] }, gram: gram)
            let factor = try XCTUnwrap(try GPTQ.inverseFactor(statistics))
            let reference = referenceFactor(gram: gram, tokens: tokens, columns: columns)
            func frobenius(_ m: [Double]) -> Double { m.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            let kappa = frobenius(reference.h) * frobenius(reference.inverse)
            let gamma = Double(columns) * Double.ulpOfOne / (1 - Double(columns) * Double.ulpOfOne)
            let largest = reference.u.map(abs).max()!
            let difference = zip(factor, reference.u).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(difference, 2 * gamma * kappa * largest, "n = \(columns), κ ≤ \(kappa)")
            // Upper triangular, the lower part stored as zeros.
            for i in 0..<columns { for j in 0..<i { XCTAssertEqual(factor[i * columns + j], 0) } }
        }
    }

    func testGPTQMatchesAnIndependentFloat64Reference() throws {
        for type in QuantType.allCases {
            // Two slices of rows (GPTQ.sliceRows) and two blocks of updates (GPTQ.block), the last of each partial.
            let rows = GPTQ.sliceRows + 3, columns = 288, tokens = 40
            let w = Distribution.normal.values(rows * columns, seed: 8)
            let (x, gram) = correlatedInputs(tokens: tokens, columns: columns, seed: 11)
            let sumSq = (0..<columns).map { gram[$0 * columns + $0] }
            let statistics = try InputStatistics(columns: columns, tokens: tokens, sumSquares: sumSq, gram: gram)
            let stored = try bytes(w, rows: rows, columns: columns, type: type, method: .gptq, statistics: statistics)
            let layout = try QuantLayout(type: type, rows: rows, columns: columns, groupSize: 32)
            let expected = referenceGPTQ(
                w, rows: rows, columns: columns, gram: gram, tokens: tokens, type: type, weights: try statistics.searchWeights(layout: layout))
            for r in 0..<rows { XCTAssertEqual(decode(stored, layout: layout, row: r), expected[r], "\(type) row \(r)") }

            // And what it is for: the output error on the calibration inputs falls below round to nearest's.
            let nearest = try bytes(w, rows: rows, columns: columns, type: type, method: .nearest)
            func outputError(_ s: [UInt8]) -> Double {
                (0..<rows).reduce(0) { total, r in
                    let d = zip(decode(s, layout: layout, row: r), w[r * columns..<(r + 1) * columns]).map { $0 - Double($1) }
                    return total + (0..<tokens).reduce(0) { sum, t in
                        let y = (0..<columns).reduce(0) { $0 + d[$1] * x[t * columns + $1] }
                        return sum + y * y
                    }
                }
            }
            XCTAssertLessThan(outputError(stored), outputError(nearest), "\(type)")
        }
    }

    /// Statistics that keep the input rows (f16) give the Gram matrix of those rows: against an
    /// f64 sum written here, over more rows than one f32 chunk (GramMatrix.chunkRows).
    func testGramFromKeptRowsIsTheirXᵀX() throws {
        let columns = 24, tokens = 700
        var random = Random(seed: 3)
        let rows = (0..<tokens * columns).map { _ in Float16(random.normal() * 3) }
        let statistics = try InputStatistics(
            columns: columns, tokens: tokens, sumSquares: Array(repeating: 0, count: columns), secondMoment: .rows(rows))
        let gram = try XCTUnwrap(statistics.gram)
        for i in 0..<columns {
            for j in 0..<columns {
                let expected = (0..<tokens).reduce(0.0) { $0 + Double(rows[$1 * columns + i]) * Double(rows[$1 * columns + j]) }
                XCTAssertEqual(gram[i * columns + j], expected, accuracy: 1e-5 * Double(tokens) * 9, "[\(i), \(j)]")
            }
        }
        XCTAssertThrowsError(try InputStatistics(
            columns: columns, tokens: 1, sumSquares: Array(repeating: 0, count: columns), secondMoment: .rows(Array(rows[0..<5]))))
    }

    /// With nothing to compensate, each group gets the search's parameters and the nearest
    /// integers: q4's search stores those too.
    func testGPTQWithoutExcitedInputsIsTheSearch() throws {
        let rows = 5, columns = 96, w = Distribution.offset.values(rows * columns, seed: 2)
        let zero = try InputStatistics(columns: columns, tokens: 0, sumSquares: Array(repeating: 0, count: columns),
                                       gram: Array(repeating: 0, count: columns * columns))
        XCTAssertEqual(try bytes(w, rows: rows, columns: columns, type: .q4, method: .gptq, statistics: zero),
                       try bytes(w, rows: rows, columns: columns, type: .q4, method: .search))
    }

    func testCalibratedMethodsRefuseToRunWithoutStatistics() {
        let values = [Float](repeating: 1, count: 64)
        for method in [QuantMethod.weighted, .gptq] {
            XCTAssertThrowsError(try bytes(values, rows: 1, columns: 64, type: .q4, method: method))
        }
    }
}

private extension Float {
    func clamped(_ low: Float, _ high: Float) -> Float { Swift.min(Swift.max(self, low), high) }
}
