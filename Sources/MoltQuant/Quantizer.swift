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
        switch layout.type {
        case .q8: try quantizeQ8Rows(source, rows: rows, firstRow: firstRow, layout: layout, search: method == .search, into: destination)
        case .q4: try quantizeQ4Rows(source, rows: rows, firstRow: firstRow, layout: layout, search: method == .search, into: destination)
        }
        // Measure on the bytes as stored, through the same arithmetic kernels use.
        let decoded = UnsafeMutablePointer<Float>.allocate(capacity: layout.groups * layout.groupSize)
        defer { decoded.deallocate() }
        var error = QuantError()
        for r in 0..<rows {
            Reconstruction.dequantizeRow(UnsafeRawBufferPointer(start: destination + r * layout.rowStride, count: layout.rowStride), layout: layout, into: decoded)
            error.add(original: source + r * layout.columns, approximation: decoded, count: layout.columns)
        }
        return error
    }

    private static func quantizeQ8Rows(
        _ source: UnsafePointer<Float>, rows: Int, firstRow: Int, layout: QuantLayout, search: Bool,
        into destination: UnsafeMutableRawPointer
    ) throws {
        let g = layout.groupSize, chunks = g / 8
        // A zero-padded copy of a ragged group, the chosen integers, a spare for candidates.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * g)
        defer { scratch.deallocate() }
        let groupCopy = scratch, q = scratch + g, spare = scratch + 2 * g
        for r in 0..<rows {
            let row = source + r * layout.columns
            let out = destination + r * layout.rowStride
            for group in 0..<layout.groups {
                let start = group * g, valid = min(g, layout.columns - start)
                var x = UnsafePointer(row + start)
                if valid < g {
                    // Zero padding is neutral for q8: it quantizes to 0 and adds to no sum.
                    groupCopy.update(from: x, count: valid)
                    (groupCopy + valid).update(repeating: 0, count: g - valid)
                    x = UnsafePointer(groupCopy)
                }
                var low = load(x, 0), high = low, finite = Lanes()
                for c in 0..<chunks {
                    let v = load(x, c)
                    low = lanewiseMin(low, v)
                    high = lanewiseMax(high, v)
                    finite += v * 0
                }
                guard finite.sum() == 0 else { throw nonFiniteError(row: firstRow + r, start: start, valid: valid) }
                let absMax = max(largest(high), -smallest(low))
                guard let scale = quantizeQ8Group(x, chunks: chunks, absMax: absMax, search: search, q: q, scratch: spare) else {
                    throw rangeError(row: firstRow + r, start: start, valid: valid, type: .q8)
                }
                out.storeBytes(of: FloatBits.floatToF16(scale).littleEndian, toByteOffset: layout.scalesOffset + 2 * group, as: UInt16.self)
                for c in 0..<chunks {
                    (out + start).storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: integerBits(load(q, c))), toByteOffset: 8 * c, as: SIMD8<Int8>.self)
                }
            }
        }
    }

    /// q4 goes 8 groups at a time (`quantizeQ4Tile`), taking the block's groups in row order
    /// across row boundaries so that no lane idles except in the block's last tile.
    private static func quantizeQ4Rows(
        _ source: UnsafePointer<Float>, rows: Int, firstRow: Int, layout: QuantLayout, search: Bool,
        into destination: UnsafeMutableRawPointer
    ) throws {
        let g = layout.groupSize, groups = layout.groups, total = rows * groups, half = g / 2
        // Transposed values, integers, spare integers, and the weights of a ragged tile.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 8 * g)
        defer { scratch.deallocate() }
        let x = scratch, q = scratch + 8 * g, spare = scratch + 16 * g, weights = scratch + 24 * g
        // Where each lane's packed values go.
        let targets = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: 8)
        defer { targets.deallocate() }

        for tile in stride(from: 0, to: total, by: 8) {
            var counts = Lanes()
            for lane in 0..<8 {
                // Lanes past the block's last group repeat it; their results are dropped.
                let (r, start) = position(min(tile + lane, total - 1), layout)
                let valid = min(g, layout.columns - start)
                let values = source + r * layout.columns + start
                // Padding repeats a data value (keeping the extremes) and weighs 0.
                if valid == g {
                    for j in 0..<g { x[8 * j + lane] = values[j] }
                } else {
                    for j in 0..<g { x[8 * j + lane] = values[j < valid ? j : 0] }
                }
                counts[lane] = Float(valid)
                targets[lane] = destination + r * layout.rowStride
            }
            var finite = Lanes()
            for j in 0..<g { finite += load(x, j) * 0 }
            if let lane = (0..<8).first(where: { !(finite[$0] == 0) }) {
                let (r, start) = position(tile + lane, layout)
                throw nonFiniteError(row: firstRow + r, start: start, valid: Int(counts[lane]))
            }
            let ragged = any(counts .< Float(g))
            let result: Result<(scale: Lanes, minimum: Lanes), TileRangeError>
            if ragged {
                for j in 0..<g { store(Lanes(repeating: 0).replacing(with: 1, where: Lanes(repeating: Float(j)) .< counts), weights, j) }
                result = quantizeQ4Tile(x, g: g, mask: PartialTile(count: counts, weights: weights), search: search, q: q, spare: spare)
                // Padding is stored as q = 0.
                for j in 0..<g { store(load(q, j) * load(weights, j), q, j) }
            } else {
                result = quantizeQ4Tile(x, g: g, mask: FullTile(count: counts), search: search, q: q, spare: spare)
            }
            let chosen: (scale: Lanes, minimum: Lanes)
            switch result {
            case .success(let value): chosen = value
            case .failure(let failure):
                let lane = (0..<8).first { failure.lanes[$0] } ?? 0
                let (r, start) = position(min(tile + lane, total - 1), layout)
                throw rangeError(row: firstRow + r, start: start, valid: Int(counts[lane]), type: .q4)
            }
            let used = min(8, total - tile)
            for lane in 0..<used {
                let group = (tile + lane) % groups
                targets[lane].storeBytes(of: FloatBits.floatToF16(chosen.scale[lane]).littleEndian, toByteOffset: layout.scalesOffset + 2 * group, as: UInt16.self)
                targets[lane].storeBytes(of: FloatBits.floatToF16(chosen.minimum[lane]).littleEndian, toByteOffset: layout.minimumsOffset + 2 * group, as: UInt16.self)
                targets[lane] += group * half
            }
            // Byte j of a group holds element j (low nibble) and element j + G/2 (high nibble).
            for j in 0..<half {
                let packed = integerBits(load(q, j)) | integerBits(load(q, j + half)) &<< 4
                for lane in 0..<used { targets[lane].storeBytes(of: UInt8(truncatingIfNeeded: packed[lane]), toByteOffset: j, as: UInt8.self) }
            }
        }
    }

    /// Row and first column of the block's `index`th group.
    private static func position(_ index: Int, _ layout: QuantLayout) -> (row: Int, start: Int) {
        (index / layout.groups, index % layout.groups * layout.groupSize)
    }

    private static func nonFiniteError(row: Int, start: Int, valid: Int) -> MoltError {
        MoltError.badInput("row \(row), columns \(start)..<\(start + valid): NaN or infinite value")
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
