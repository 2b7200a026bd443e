import CMoltQuant
import Dispatch
import MoltCore

/// How each group's scale (and minimum) is chosen. Formats/quantization.md describes them.
public enum QuantMethod: String, Sendable, CaseIterable, Codable {
    /// Scale from the group's extremes, nearest integers: the baseline.
    case nearest
    /// A grid of candidate integer assignments, each refitted by least squares with the
    /// f16-rounded result scored; never worse than `nearest` on any group.
    case search
    /// `search` scored by the squared error weighted by each input column's calibrated
    /// importance (Σx², Formats/calibration.md): the error where the activations are large
    /// counts for more.
    case weighted
    /// Column-by-column rounding with the error fed into the columns not yet rounded through
    /// the inverse Hessian of the calibrated inputs (GPTQ).
    case gptq

    /// Whether the method reads calibration statistics.
    public var isCalibrated: Bool { self == .weighted || self == .gptq }
    /// Whether it needs the Gram matrix XᵀX rather than its diagonal alone.
    public var needsGram: Bool { self == .gptq }
}

public enum Quantizer {
    /// The levels this CPU runs that give distinct quantizer paths (the VNNI level runs the
    /// AVX-512 one). Every path gives the same bytes and error sums; tests compare them.
    public static var paths: [KernelPath] { KernelPath.supported.filter { $0 != .avx512vnni } }

    /// Rows per unit of parallel work. Fixed (not derived from the core count) so that the
    /// error sums, merged in block order, are the same on every machine.
    static func blockRows(columns: Int) -> Int { max(1, 16384 / max(columns, 1)) }

    /// Quantizes `rows` consecutive rows of `layout.columns` values of `dtype` (f32, bf16 or
    /// f16, any alignment) at `source` into `destination` (`rows * layout.rowStride` bytes), in
    /// parallel over blocks of rows. Returns the error of the stored values against the
    /// source. `firstRow` only numbers rows in error messages, for callers that work a chunk
    /// of a matrix at a time.
    public static func quantizeRows(
        _ source: UnsafeRawPointer, dtype: DType, rows: Int, firstRow: Int = 0, layout: QuantLayout, method: QuantMethod,
        weights: [Float]? = nil, path: KernelPath = .best, into destination: UnsafeMutableRawPointer
    ) throws -> QuantError {
        guard method == .nearest || method == .search || method == .weighted else {
            throw MoltError(.usage, "\(method.rawValue) is not a per-group method (see GPTQ)")
        }
        if method == .weighted {
            guard let weights, weights.count == layout.groups * layout.groupSize else {
                throw MoltError(.usage, "the weighted search needs \(layout.groups * layout.groupSize) weights")
            }
            return try weights.withUnsafeBufferPointer { w in
                try quantizeRows(source, dtype: dtype, rows: rows, firstRow: firstRow, layout: layout, search: true,
                                 weights: w.baseAddress, path: path, into: destination)
            }
        }
        return try quantizeRows(source, dtype: dtype, rows: rows, firstRow: firstRow, layout: layout, search: method == .search,
                                weights: nil, path: path, into: destination)
    }

    private static func quantizeRows(
        _ source: UnsafeRawPointer, dtype: DType, rows: Int, firstRow: Int, layout: QuantLayout, search: Bool,
        weights: UnsafePointer<Float>?, path: KernelPath, into destination: UnsafeMutableRawPointer
    ) throws -> QuantError {
        var job = molt_quant_job()
        switch dtype {
        case .f32: job.source = MOLT_QUANT_SOURCE_F32
        case .bf16: job.source = MOLT_QUANT_SOURCE_BF16
        case .f16: job.source = MOLT_QUANT_SOURCE_F16
        default: throw MoltError.unsupported("cannot quantize \(dtype.rawValue) values")
        }
        guard path.isSupported else { throw MoltError(.usage, "this CPU cannot run the quantizer's \(path) path") }
        job.type = layout.type == .q8 ? MOLT_QUANT_Q8 : MOLT_QUANT_Q4
        job.search = search ? 1 : 0
        job.weights = weights
        job.columns = Int64(layout.columns)
        job.group_size = Int64(layout.groupSize)
        job.groups = Int64(layout.groups)
        job.row_stride = Int64(layout.rowStride)
        job.scales_offset = Int64(layout.scalesOffset)
        job.minimums_offset = Int64(layout.minimumsOffset)
        let sourceRowBytes = layout.columns * dtype.size

        let perBlock = blockRows(columns: layout.columns)
        let blocks = (rows + perBlock - 1) / perBlock
        var results = [Result<QuantError, MoltError>](repeating: .success(QuantError()), count: blocks)
        results.withUnsafeMutableBufferPointer { slots in
            let slots = UncheckedSendable(slots)
            let source = UncheckedSendable(source), destination = UncheckedSendable(destination), job = UncheckedSendable(job)
            BusyCores.occupy { DispatchQueue.concurrentPerform(iterations: blocks) { block in
                let first = block * perBlock, count = min(perBlock, rows - first)
                var sums = molt_quant_error(), failure = molt_quant_failure(), job = job.value
                let status = molt_quantize_rows(
                    &job, path.c, source.value + first * sourceRowBytes, Int64(count), destination.value + first * layout.rowStride,
                    &sums, &failure)
                let row = firstRow + first + Int(failure.row), start = Int(failure.start), end = start + Int(failure.count)
                switch status {
                case MOLT_QUANT_OK:
                    slots.value[block] = .success(
                        QuantError(signalEnergy: sums.signal, errorEnergy: sums.error, maxAbs: sums.max_abs, count: count * layout.columns))
                case MOLT_QUANT_NOT_FINITE:
                    slots.value[block] = .failure(.badInput("row \(row), columns \(start)..<\(end): NaN or infinite value"))
                case MOLT_QUANT_TOO_LARGE:
                    slots.value[block] = .failure(
                        .unsupported("row \(row), columns \(start)..<\(end): values too large for \(layout.type.rawValue)'s f16 scales"))
                default:
                    slots.value[block] = .failure(MoltError(.io, "out of memory quantizing rows \(firstRow + first)..<\(firstRow + first + count)"))
                }
            } }
        }
        var total = QuantError()
        for result in results { total.merge(try result.get()) }
        return total
    }

    /// A whole row-major [rows, columns] matrix, into freshly owned storage.
    public static func quantize(
        _ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, type: QuantType, groupSize: Int = 32,
        method: QuantMethod = .search, statistics: InputStatistics? = nil, path: KernelPath = .best
    ) throws -> (matrix: QuantizedMatrix, error: QuantError) {
        let layout = try QuantLayout(type: type, rows: rows, columns: columns, groupSize: groupSize)
        guard values.count == (try Checked.multiply([rows, columns], what: "matrix")) else {
            throw MoltError.badInput("\(values.count) values for a [\(rows), \(columns)] matrix")
        }
        var error = QuantError()
        let storage = try Storage(byteCount: layout.byteCount) { out in
            guard let src = values.baseAddress, let dst = out.baseAddress else { return }
            switch method {
            case .gptq:
                guard let statistics else { throw MoltError(.usage, "gptq needs calibration statistics") }
                error = try GPTQ.quantizeRows(
                    src, rows: rows, layout: layout, factor: try GPTQ.inverseFactor(statistics),
                    searchWeights: try statistics.searchWeights(layout: layout), into: dst)
            case .weighted:
                guard let statistics else { throw MoltError(.usage, "the weighted search needs calibration statistics") }
                error = try quantizeRows(
                    src, dtype: .f32, rows: rows, layout: layout, method: method, weights: try statistics.searchWeights(layout: layout),
                    path: path, into: dst)
            default:
                error = try quantizeRows(src, dtype: .f32, rows: rows, layout: layout, method: method, path: path, into: dst)
            }
        }
        return (try QuantizedMatrix(layout: layout, storage: storage), error)
    }
}
