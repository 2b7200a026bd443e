import Dispatch
import MoltCore

/// How each group's scale (and minimum) is chosen. Formats/quantization.md describes both.
public enum QuantMethod: String, Sendable, CaseIterable, Codable {
    /// Scale from the group's extremes, nearest integers: the baseline.
    case nearest
    /// A grid of candidate integer assignments, each refitted by least squares with the
    /// f16-rounded result scored; never worse than `nearest` on any group.
    case search
}

public enum Quantizer {
    /// Rows per unit of parallel work. Fixed (not derived from the core count) so that the
    /// error sums, merged in block order, are the same on every machine.
    static func blockRows(columns: Int) -> Int { max(1, 16384 / max(columns, 1)) }

    /// Quantizes `rows` consecutive rows of `layout.columns` f32 values at `source` into
    /// `destination` (`rows * layout.rowStride` bytes), in parallel over blocks of rows.
    /// Returns the error of the stored values against the source. `firstRow` only numbers
    /// rows in error messages, for callers that work a chunk of a matrix at a time.
    public static func quantizeRows(
        _ source: UnsafePointer<Float>, rows: Int, firstRow: Int = 0, layout: QuantLayout, method: QuantMethod,
        into destination: UnsafeMutableRawPointer
    ) throws -> QuantError {
        let perBlock = blockRows(columns: layout.columns)
        let blocks = (rows + perBlock - 1) / perBlock
        var results = [Result<QuantError, MoltError>](repeating: .success(QuantError()), count: blocks)
        results.withUnsafeMutableBufferPointer { slots in
            let slots = UncheckedSendable(slots)
            let source = UncheckedSendable(source), destination = UncheckedSendable(destination)
            DispatchQueue.concurrentPerform(iterations: blocks) { block in
                let first = block * perBlock, count = min(perBlock, rows - first)
                slots.value[block] = Result {
                    try quantizeBlock(
                        source.value + first * layout.columns, rows: count, firstRow: firstRow + first, layout: layout,
                        method: method, into: destination.value + first * layout.rowStride)
                }.mapError { $0 as? MoltError ?? MoltError(.badInput, "\($0)") }
            }
        }
        var total = QuantError()
        for result in results { total.merge(try result.get()) }
        return total
    }

    /// A whole row-major [rows, columns] matrix, into freshly owned storage.
    public static func quantize(
        _ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, type: QuantType, groupSize: Int = 32,
        method: QuantMethod = .search
    ) throws -> (matrix: QuantizedMatrix, error: QuantError) {
        let layout = try QuantLayout(type: type, rows: rows, columns: columns, groupSize: groupSize)
        guard values.count == (try Checked.multiply([rows, columns], what: "matrix")) else {
            throw MoltError.badInput("\(values.count) values for a [\(rows), \(columns)] matrix")
        }
        var error = QuantError()
        let storage = try Storage(byteCount: layout.byteCount) { out in
            guard let src = values.baseAddress, let dst = out.baseAddress else { return }
            error = try quantizeRows(src, rows: rows, layout: layout, method: method, into: dst)
        }
        return (try QuantizedMatrix(layout: layout, storage: storage), error)
    }

    private static func quantizeBlock(
        _ source: UnsafePointer<Float>, rows: Int, firstRow: Int, layout: QuantLayout, method: QuantMethod,
        into destination: UnsafeMutableRawPointer
    ) throws -> QuantError {
        let g = layout.groupSize, chunks = g / 8, padded = layout.groups * g
        // One allocation per block: a padded copy of a ragged group, the chosen integers and a
        // spare for candidates, and a dequantized row to measure the error on.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * g + padded)
        defer { scratch.deallocate() }
        let groupCopy = scratch, q = scratch + g, spare = scratch + 2 * g, decoded = scratch + 3 * g
        let search = method == .search
        var error = QuantError()

        for r in 0..<rows {
            let row = source + r * layout.columns
            let out = destination + r * layout.rowStride
            for group in 0..<layout.groups {
                let start = group * g, valid = min(g, layout.columns - start)
                var x = UnsafePointer(row + start)
                if valid < g {
                    // q8 pads with zeros (neutral); q4 repeats a data value, masked out of every sum.
                    let fill: Float = layout.type == .q8 ? 0 : x[0]
                    groupCopy.update(from: x, count: valid)
                    (groupCopy + valid).update(repeating: fill, count: g - valid)
                    x = UnsafePointer(groupCopy)
                }
                var low = load(x, 0), high = low, finite = Lanes()
                for c in 0..<chunks {
                    let v = load(x, c)
                    low = lanewiseMin(low, v)
                    high = lanewiseMax(high, v)
                    finite += v * 0
                }
                guard finite.sum() == 0 else {
                    throw MoltError.badInput("row \(firstRow + r), columns \(start)..<\(start + valid): NaN or infinite value")
                }
                let scaleOffset = layout.scalesOffset + 2 * group
                switch layout.type {
                case .q8:
                    let absMax = max(largest(high), -smallest(low))
                    guard let scale = quantizeQ8Group(x, chunks: chunks, absMax: absMax, search: search, q: q, scratch: spare) else {
                        throw rangeError(row: firstRow + r, start: start, valid: valid, type: .q8)
                    }
                    out.storeBytes(of: FloatBits.floatToF16(scale).littleEndian, toByteOffset: scaleOffset, as: UInt16.self)
                    let values = out + start
                    for c in 0..<chunks {
                        values.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: integerBits(load(q, c))), toByteOffset: 8 * c, as: SIMD8<Int8>.self)
                    }
                case .q4:
                    let chosen: (scale: Float, minimum: Float)?
                    if valid == g {
                        chosen = quantizeQ4Group(x, chunks: chunks, mask: FullGroup(count: Float(g)), low: smallest(low), high: largest(high), search: search, q: q, scratch: spare)
                    } else {
                        chosen = quantizeQ4Group(x, chunks: chunks, mask: PartialGroup(valid: valid), low: smallest(low), high: largest(high), search: search, q: q, scratch: spare)
                        (q + valid).update(repeating: 0, count: g - valid)
                    }
                    guard let chosen else { throw rangeError(row: firstRow + r, start: start, valid: valid, type: .q4) }
                    out.storeBytes(of: FloatBits.floatToF16(chosen.scale).littleEndian, toByteOffset: scaleOffset, as: UInt16.self)
                    out.storeBytes(of: FloatBits.floatToF16(chosen.minimum).littleEndian, toByteOffset: layout.minimumsOffset + 2 * group, as: UInt16.self)
                    // Byte j holds element j (low nibble) and element j + G/2 (high nibble).
                    let values = out + start / 2, halfChunks = chunks / 2
                    for c in 0..<halfChunks {
                        let packed = integerBits(load(q, c)) | integerBits(load(q, c + halfChunks)) &<< 4
                        values.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: packed), toByteOffset: 8 * c, as: SIMD8<UInt8>.self)
                    }
                }
            }
            // Measure on the bytes as stored, through the same arithmetic kernels use.
            Reconstruction.dequantizeRow(UnsafeRawBufferPointer(start: out, count: layout.rowStride), layout: layout, into: decoded)
            error.add(original: row, approximation: decoded, count: layout.columns)
        }
        return error
    }

    private static func rangeError(row: Int, start: Int, valid: Int, type: QuantType) -> MoltError {
        MoltError.unsupported("row \(row), columns \(start)..<\(start + valid): values too large for \(type.rawValue)'s f16 scales")
    }
}

/// Lets a pointer cross into `concurrentPerform`: each block writes only its own rows and slot.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
