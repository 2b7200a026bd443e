import CMoltQuant
import Dispatch
import MoltCore

/// GPTQ-style error compensation (Frantar et al. 2022) in Molt's q8/q4 groups
/// (Formats/quantization.md): columns are rounded in order, and each one's error, scaled by
/// the inverse Hessian of the layer's inputs (H = XᵀX / tokens, dampened), is fed into the
/// columns not yet rounded, so that the product W x rather than W itself stays close. Each
/// group's scale (and minimum) is chosen by the weighted search (`searchWeights`, from the
/// calibrated importance) on its values as updated when the group is reached. Every row is
/// independent.
public enum GPTQ {
    /// Added to H's diagonal, as a share of its mean: keeps H invertible (columns no token
    /// excited) and tempers the updates.
    public static let dampening = 0.01

    /// U with H⁻¹ = Uᵀ U (U upper triangular), H = gram / tokens + dampening · mean(diag) · I:
    /// the factor the column-by-column updates read. nil when H is zero (no token, or inputs all
    /// zero): then there is nothing to compensate and the rows are rounded to nearest.
    public static func inverseFactor(_ statistics: InputStatistics) throws -> [Double]? {
        guard let gram = statistics.gram else { throw MoltError(.usage, "GPTQ needs the Gram matrix of the inputs") }
        let n = statistics.columns, scale = 1 / Double(max(statistics.tokens, 1))
        var h = gram.map { $0 * scale }
        let mean = (0..<n).reduce(0) { $0 + h[$1 * n + $1] } / Double(max(n, 1))
        guard mean > 0 else { return nil }
        for i in 0..<n { h[i * n + i] += dampening * mean }
        // H = L Lᵀ, then H⁻¹ = L⁻ᵀ L⁻¹, then its upper Cholesky factor.
        guard let l = cholesky(h, n) else { throw MoltError.badInput("the dampened Hessian is not positive definite") }
        let inverse = inverseFromCholesky(l, n)
        guard let lower = cholesky(inverse, n) else { throw MoltError.badInput("the inverse Hessian is not positive definite") }
        var upper = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { upper[j * n + i] = lower[i * n + j] } }
        return upper
    }

    /// Lower-triangular L with a = L Lᵀ (row-major n × n), or nil if a is not positive definite.
    static func cholesky(_ a: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        return l
    }

    /// (L Lᵀ)⁻¹ from L.
    static func inverseFromCholesky(_ l: [Double], _ n: Int) -> [Double] {
        // M = L⁻¹ (lower), then M ᵀ M.
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            m[i * n + i] = 1 / l[i * n + i]
            for j in 0..<i {
                var sum = 0.0
                for k in j..<i { sum -= l[i * n + k] * m[k * n + j] }
                m[i * n + j] = sum / l[i * n + i]
            }
        }
        var inverse = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = 0.0
                for k in i..<n { sum += m[k * n + i] * m[k * n + j] }
                inverse[i * n + j] = sum
                inverse[j * n + i] = sum
            }
        }
        return inverse
    }

    /// Quantizes `rows` rows of f32 values into `destination` (rows × layout.rowStride bytes)
    /// with the factor from `inverseFactor` (nil: round to nearest), rows in parallel. Returns
    /// the error of the stored values, measured as the other methods measure theirs.
    public static func quantizeRows(
        _ source: UnsafePointer<Float>, rows: Int, firstRow: Int = 0, layout: QuantLayout, factor: [Double]?,
        searchWeights: [Float], into destination: UnsafeMutableRawPointer
    ) throws -> QuantError {
        let n = layout.columns
        let failures = UncheckedSendable(UnsafeMutablePointer<String?>.allocate(capacity: max(rows, 1)))
        failures.value.initialize(repeating: nil, count: max(rows, 1))
        defer { failures.value.deallocate() }
        let src = UncheckedSendable(source), dst = UncheckedSendable(destination)
        BusyCores.occupy { DispatchQueue.concurrentPerform(iterations: rows) { r in
            var w = (0..<n).map { Double(src.value[r * n + $0]) }
            let out = dst.value + r * layout.rowStride
            if let problem = quantizeRow(&w, layout: layout, factor: factor, searchWeights: searchWeights, into: out) {
                failures.value[r] = "row \(firstRow + r), \(problem)"
            }
        } }
        if let problem = (0..<rows).lazy.compactMap({ failures.value[$0] }).first { throw MoltError.unsupported(problem) }
        var job = molt_quant_job()
        job.type = layout.type == .q8 ? MOLT_QUANT_Q8 : MOLT_QUANT_Q4
        job.source = MOLT_QUANT_SOURCE_F32
        job.columns = Int64(n)
        job.group_size = Int64(layout.groupSize)
        job.groups = Int64(layout.groups)
        job.row_stride = Int64(layout.rowStride)
        job.scales_offset = Int64(layout.scalesOffset)
        job.minimums_offset = Int64(layout.minimumsOffset)
        // Measured in the quantizer's blocks, merged in order, like its own sums.
        var total = QuantError()
        let perBlock = Quantizer.blockRows(columns: n)
        for first in stride(from: 0, to: rows, by: perBlock) {
            let count = min(perBlock, rows - first)
            var sums = molt_quant_error()
            molt_quant_measure(&job, source + first * n, Int64(count), destination + first * layout.rowStride, &sums)
            total.merge(QuantError(signalEnergy: sums.signal, errorEnergy: sums.error, maxAbs: sums.max_abs, count: count * n))
        }
        return total
    }

    /// One row, updated in place as its columns are rounded; nil, or what refused it.
    static func quantizeRow(
        _ w: inout [Double], layout: QuantLayout, factor u: [Double]?, searchWeights: [Float], into row: UnsafeMutableRawPointer
    ) -> String? {
        let n = layout.columns, g = layout.groupSize, q4 = layout.type == .q4
        let values = row.assumingMemoryBound(to: UInt8.self)
        values.initialize(repeating: 0, count: layout.valueBytesPerRow)
        for group in 0..<layout.groups {
            let start = group * g, end = min(start + g, n)
            let current = (start..<end).map { Float(w[$0]) }
            guard current.allSatisfy(\.isFinite) else { return "columns \(start)..<\(end): NaN or infinite value" }
            let (scale, minimum) = searched(current, type: layout.type, groupSize: g, weights: searchWeights[start..<start + g])
            guard scale.isFinite, minimum.isFinite else {
                return "columns \(start)..<\(end): values too large for \(layout.type.rawValue)'s f16 scales"
            }
            let inverse = 1 / scale
            for i in start..<end {
                let x = Float(w[i])
                let q: Float, stored: Float
                if q4 {
                    q = scale == 0 ? 0 : roundHalfEven(min(max((x - minimum) * inverse, 0), 15))
                    stored = scale * q + minimum
                    let j = i - start, byte = start / 2 + j % (g / 2)
                    values[byte] |= UInt8(q) << (j < g / 2 ? 0 : 4)
                } else {
                    q = scale == 0 ? 0 : roundHalfEven(min(max(x * inverse, -127), 127))
                    stored = scale * q
                    values[i] = UInt8(bitPattern: Int8(q))
                }
                guard let u else { continue }  // nothing excited the inputs: nearest integers
                let error = (w[i] - Double(stored)) / u[i * n + i]
                for j in i + 1..<n where u[i * n + j] != 0 { w[j] -= error * u[i * n + j] }
            }
            storeHalf(scale, at: row + layout.scalesOffset + 2 * group)
            if q4 { storeHalf(minimum, at: row + layout.minimumsOffset + 2 * group) }
        }
        return nil
    }

    /// The weighted search's (scale, minimum) for one group's values (Formats/quantization.md),
    /// by the C quantizer on a one-group row; non-finite when refused.
    static func searched(_ x: [Float], type: QuantType, groupSize g: Int, weights: ArraySlice<Float>) -> (scale: Float, minimum: Float) {
        guard let layout = try? QuantLayout(type: type, rows: 1, columns: x.count, groupSize: g) else { return (.nan, .nan) }
        var job = molt_quant_job()
        job.type = type == .q8 ? MOLT_QUANT_Q8 : MOLT_QUANT_Q4
        job.source = MOLT_QUANT_SOURCE_F32
        job.search = 1
        job.columns = Int64(x.count)
        job.group_size = Int64(g)
        job.groups = 1
        job.row_stride = Int64(layout.rowStride)
        job.scales_offset = Int64(layout.scalesOffset)
        job.minimums_offset = Int64(layout.minimumsOffset)
        var stored = [UInt8](repeating: 0, count: layout.rowStride)
        var sums = molt_quant_error(), failure = molt_quant_failure()
        let weights = Array(weights)
        let status = x.withUnsafeBytes { src in
            weights.withUnsafeBufferPointer { w in
                stored.withUnsafeMutableBytes { dst in
                    job.weights = w.baseAddress
                    return molt_quantize_rows(&job, KernelPath.best.c, src.baseAddress, 1, dst.baseAddress, &sums, &failure)
                }
            }
        }
        guard status == MOLT_QUANT_OK else { return (.nan, .nan) }
        func half(_ at: Int) -> Float { Float(Float16(bitPattern: UInt16(stored[at]) | UInt16(stored[at + 1]) << 8)) }
        return (half(layout.scalesOffset), type == .q4 ? half(layout.minimumsOffset) : 0)
    }

    static func roundHalfEven(_ x: Float) -> Float { x.rounded(.toNearestOrEven) }

    static func storeHalf(_ value: Float, at p: UnsafeMutableRawPointer) {
        p.storeBytes(of: Float16(value).bitPattern.littleEndian, as: UInt16.self)
    }
}
