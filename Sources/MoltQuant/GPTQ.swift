import CMoltQuant
import COpenBLAS
import Dispatch
import MoltCore

/// GPTQ-style error compensation (Frantar et al. 2022) in Molt's q8/q4 groups
/// (Formats/quantization.md): columns are rounded in order, and each one's error, scaled by
/// the inverse Hessian of the layer's inputs (H = XᵀX / tokens, dampened), is fed into the
/// columns not yet rounded, so that the product W x rather than W itself stays close. Each
/// group's scale (and minimum) is chosen by the weighted search (`searchWeights`, from the
/// calibrated importance) on its values as updated when the group is reached. The updates are
/// applied a block of columns at a time (the paper's lazy batches), and inside a block a group
/// at a time: most of the work is dgemms, each slice of rows on one core, and H⁻¹'s factor
/// comes from LAPACK (`inverseFactor`).
public enum GPTQ {
    /// Added to H's diagonal, as a share of its mean: keeps H invertible (columns no token
    /// excited) and tempers the updates.
    public static let dampening = 0.01
    /// Columns whose updates are applied together, about.
    static let block = 256
    /// Rows that go through the columns together, on one core.
    static let sliceRows = 64

    /// U with H⁻¹ = Uᵀ U (U upper triangular, row-major n × n), H = gram / tokens + dampening ·
    /// mean(diag) · I: the factor the updates read. nil when H is zero (no token, or inputs all
    /// zero): then there is nothing to compensate and the rows are rounded to nearest.
    public static func inverseFactor(_ statistics: InputStatistics) throws -> [Double]? {
        guard var h = statistics.gram else { throw MoltError(.usage, "GPTQ needs the Gram matrix of the inputs") }
        let n = statistics.columns, scale = 1 / Double(max(statistics.tokens, 1))
        for i in h.indices { h[i] *= scale }
        let mean = (0..<n).reduce(0) { $0 + h[$1 * n + $1] } / Double(max(n, 1))
        guard mean > 0 else { return nil }
        for i in 0..<n { h[i * n + i] += dampening * mean }
        // One Cholesky factorization and one triangular inverse (2/3 n³), not H⁻¹ formed and
        // factored again (4/3 n³): with J the reversal of indices, J H J = L Lᵀ gives H = V Vᵀ
        // for V = J L J, upper, so H⁻¹ = V⁻ᵀ V⁻¹ and U = V⁻¹. Reversing both indices of a
        // row-major matrix reverses its storage. LAPACK is column-major, so it sees the
        // transpose of every row-major array: its upper Cholesky factor is our L, and its lower
        // triangular inverse of our Vᵀ is our V⁻¹ = U.
        var info: Int32 = 0, size = Int32(n), upper = Int8(UInt8(ascii: "U")), lower = Int8(UInt8(ascii: "L"))
        var nonUnit = Int8(UInt8(ascii: "N"))
        h.reverse()
        h.withUnsafeMutableBufferPointer { a in dpotrf_(&upper, &size, a.baseAddress, &size, &info) }
        guard info == 0 else { throw MoltError.badInput("the dampened Hessian is not positive definite") }
        h.reverse()
        h.withUnsafeMutableBufferPointer { a in dtrtri_(&lower, &nonUnit, &size, a.baseAddress, &size, &info) }
        guard info == 0 else { throw MoltError.badInput("the dampened Hessian's Cholesky factor is singular") }
        for i in 0..<n { for j in 0..<i { h[i * n + j] = 0 } }
        return h
    }

    /// Quantizes `rows` rows of f32 values into `destination` (rows × layout.rowStride bytes)
    /// with the factor from `inverseFactor` (nil: round to nearest). Returns the error of the
    /// stored values, measured as the other methods measure theirs.
    public static func quantizeRows(
        _ source: UnsafePointer<Float>, rows: Int, firstRow: Int = 0, layout: QuantLayout, factor: [Double]?,
        searchWeights: [Float], into destination: UnsafeMutableRawPointer
    ) throws -> QuantError {
        let n = layout.columns, g = layout.groupSize, q4 = layout.type == .q4
        guard rows > 0 else { return QuantError() }
        // Whole groups per block, so that a group's values are up to date when it is reached.
        let width = max(g, block - block % g)
        // The rows in f64, updated as columns are rounded; each block's errors.
        let w = UnsafeMutablePointer<Double>.allocate(capacity: rows * n)
        defer { w.deallocate() }
        let errors = UnsafeMutablePointer<Double>.allocate(capacity: rows * width)
        defer { errors.deallocate() }
        errors.initialize(repeating: 0, count: rows * width)
        for i in 0..<rows * n { w[i] = Double(source[i]) }
        let failures = UncheckedSendable(UnsafeMutablePointer<String?>.allocate(capacity: rows))
        failures.value.initialize(repeating: nil, count: rows)
        defer { failures.value.deallocate() }
        let shared = UncheckedSendable((w: w, errors: errors, dst: destination))
        // Rows are independent: each slice of rows goes through every column on its own, its
        // products on one OpenBLAS thread, so that the cores work without waiting for each
        // other. (On OpenBLAS's own threads, its workers spun between the short dgemms while the
        // rows were rounded: a third of the CPU time went to sched_yield.)
        let threads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(threads) }
        let slices = (rows + sliceRows - 1) / sliceRows
        (factor ?? []).withUnsafeBufferPointer { upper in
            // (An empty array's buffer may still have an address.)
            let u = UncheckedSendable(factor == nil ? nil : upper.baseAddress)
            BusyCores.occupy { DispatchQueue.concurrentPerform(iterations: slices) { slice in
                let (w, allErrors, dst) = shared.value
                let firstOfSlice = slice * sliceRows, count = min(sliceRows, rows - firstOfSlice)
                let errors = allErrors + firstOfSlice * width, slab = w + firstOfSlice * n
                // The errors of the block's columns `from` (the block starts at `first`) fed into the
                // slice's columns `into`: w[:, into] -= errors[:, from] · U[from, into].
                func feed(_ u: UnsafePointer<Double>, first: Int, from: Range<Int>, into: Range<Int>) {
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(into.count), Int32(from.count), -1,
                                errors + from.lowerBound - first, Int32(width), u + from.lowerBound * n + into.lowerBound, Int32(n), 1,
                                slab + into.lowerBound, Int32(n))
                }
                for first in stride(from: 0, to: n, by: width) {
                    let end = min(first + width, n)
                    // A group at a time: its columns are rounded row by row, each error fed into
                    // the group's later columns there, then into the block's later columns by
                    // one dgemm, so that little of the work is scalar.
                    for start in stride(from: first, to: end, by: g) {
                        let groupEnd = min(start + g, n)
                        for r in firstOfSlice..<firstOfSlice + count where failures.value[r] == nil {
                            let row = w + r * n, out = dst + r * layout.rowStride, values = out.assumingMemoryBound(to: UInt8.self)
                            if start == 0 { values.initialize(repeating: 0, count: layout.valueBytesPerRow) }
                            // The group's parameters, from its values as updated so far.
                            let current = (start..<groupEnd).map { Float(row[$0]) }
                            guard current.allSatisfy(\.isFinite) else {
                                failures.value[r] = "row \(firstRow + r), columns \(start)..<\(groupEnd): NaN or infinite value"
                                continue
                            }
                            let (scale, minimum) = searched(current, type: layout.type, groupSize: g, weights: searchWeights[start..<start + g])
                            guard scale.isFinite, minimum.isFinite else {
                                failures.value[r] = "row \(firstRow + r), columns \(start)..<\(groupEnd): values too large for \(layout.type.rawValue)'s f16 scales"
                                continue
                            }
                            storeHalf(scale, at: out + layout.scalesOffset + 2 * (start / g))
                            if q4 { storeHalf(minimum, at: out + layout.minimumsOffset + 2 * (start / g)) }
                            for i in start..<groupEnd {
                                let x = Float(row[i]), stored: Float
                                if q4 {
                                    let q = scale == 0 ? 0 : roundHalfEven(min(max((x - minimum) * (1 / scale), 0), 15))
                                    stored = scale * q + minimum
                                    let j = i - start
                                    values[start / 2 + j % (g / 2)] |= UInt8(q) << (j < g / 2 ? 0 : 4)
                                } else {
                                    let q = scale == 0 ? 0 : roundHalfEven(min(max(x * (1 / scale), -127), 127))
                                    stored = scale * q
                                    values[i] = UInt8(bitPattern: Int8(q))
                                }
                                guard let u = u.value else { continue }  // nothing excited the inputs: nearest integers
                                let error = (row[i] - Double(stored)) / u[i * n + i]
                                errors[(r - firstOfSlice) * width + i - first] = error
                                for j in i + 1..<groupEnd { row[j] -= error * u[i * n + j] }
                            }
                        }
                        // Into the block's columns after the group.
                        if let u = u.value, groupEnd < end { feed(u, first: first, from: start..<groupEnd, into: groupEnd..<end) }
                    }
                    // Into the columns after the block.
                    if let u = u.value, end < n { feed(u, first: first, from: first..<end, into: end..<n) }
                }
            } }
        }
        if let problem = (0..<rows).lazy.compactMap({ failures.value[$0] }).first { throw MoltError.unsupported(problem) }
        var job = molt_quant_job()
        job.type = layout.type == .q8 ? MOLT_QUANT_Q8 : MOLT_QUANT_Q4
        job.source = MOLT_QUANT_SOURCE_F32
        job.columns = Int64(n)
        job.group_size = Int64(g)
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
