import MoltCore
import Testing

@testable import MoltQuant

/// Every instruction-set path must give the same bytes and the same error sums, so that a
/// conversion gives the same file on every machine. The scalar path is the reference.

private let pathShapes: [(rows: Int, columns: Int, group: Int)] = [(24, 256, 32), (17, 100, 32), (9, 40, 32), (5, 200, 64), (40, 1030, 128), (3, 4100, 4096), (70, 1152, 32)]

/// `values` narrowed to `dtype` (f32 kept), as raw little-endian bytes.
private func encode(_ values: [Float], as dtype: DType) -> [UInt8] {
    switch dtype {
    case .bf16: values.map { FloatBits.floatToBF16($0) }.withUnsafeBytes { Array($0) }
    case .f16: values.map { FloatBits.floatToF16($0) }.withUnsafeBytes { Array($0) }
    default: values.withUnsafeBytes { Array($0) }
    }
}

private func run(_ source: [UInt8], dtype: DType, layout: QuantLayout, method: QuantMethod, path: KernelPath) -> Result<([UInt8], QuantError), MoltError> {
    var bytes = [UInt8](repeating: 0xAA, count: layout.byteCount)
    return Result {
        let error = try source.withUnsafeBytes { src in
            try bytes.withUnsafeMutableBytes { dst in
                try Quantizer.quantizeRows(
                    src.baseAddress!, dtype: dtype, rows: layout.rows, layout: layout, method: method,
                    weights: method == .weighted ? searchWeights(layout) : nil, path: path, into: dst.baseAddress!)
            }
        }
        return (bytes, error)
    }.mapError { $0 as! MoltError }
}

/// Uneven search weights for the weighted search (as calibration gives: a few loud columns).
private func searchWeights(_ layout: QuantLayout) throws -> [Float] {
    var random = Random(seed: UInt64(layout.columns))
    let importance = (0..<layout.columns).map { _ in random.unit() < 0.1 ? 50 * Double(random.unit()) : Double(random.unit()) }
    return try InputStatistics(columns: layout.columns, tokens: 1, sumSquares: importance).searchWeights(layout: layout)
}

@Test(
    .enabled(if: Quantizer.paths.count > 1, "this CPU has only the scalar path: nothing to compare it with"),
    arguments: [DType.f32, .bf16, .f16], QuantType.allCases)
func everyPathGivesTheSameBytes(dtype: DType, type: QuantType) throws {
    for (index, shape) in pathShapes.enumerated() {
        let layout = try QuantLayout(type: type, rows: shape.rows, columns: shape.columns, groupSize: shape.group)
        let count = shape.rows * shape.columns
        let inputs = Distribution.allCases.map { $0.values(count, seed: UInt64(50 + index)) } + [cornerValues(count, seed: UInt64(60 + index))]
        for values in inputs {
            let source = encode(values, as: dtype)
            // GPTQ is Swift, one path.
            for method in QuantMethod.allCases where method != .gptq {
                let reference = try run(source, dtype: dtype, layout: layout, method: method, path: .scalar).get()
                for path in Quantizer.paths where path != .scalar {
                    let (bytes, error) = try run(source, dtype: dtype, layout: layout, method: method, path: path).get()
                    #expect(bytes == reference.0, "\(path) \(type) \(method) \(dtype) \(shape)")
                    #expect(error == reference.1, "\(path) \(type) \(method) \(dtype) \(shape)")
                }
            }
        }
    }
}

@Test(arguments: QuantType.allCases)
func everyPathRefusesTheSameGroup(type: QuantType) throws {
    let shape = (rows: 300, columns: 100, group: 32)
    let layout = try QuantLayout(type: type, rows: shape.rows, columns: shape.columns, groupSize: shape.group)
    for bad: Float in [.nan, .infinity, -.infinity, 1e30] {
        for position in [0, 33, 3 * 100 + 99, 150 * 100 + 64, 300 * 100 - 1] {
            var values = Distribution.normal.values(shape.rows * shape.columns, seed: 9)
            values[position] = bad
            let row = position / shape.columns, start = position % shape.columns / 32 * 32
            let expected = "row \(row), columns \(start)..<\(min(start + 32, shape.columns)): "
                + (bad.isFinite ? "values too large for \(type.rawValue)'s f16 scales" : "NaN or infinite value")
            for path in Quantizer.paths {
                let result = run(encode(values, as: .f32), dtype: .f32, layout: layout, method: .search, path: path)
                guard case .failure(let error) = result else {
                    Issue.record("\(path): \(bad) at \(position) accepted")
                    continue
                }
                #expect(error.message == expected, "\(path)")
                #expect(error.kind == (bad.isFinite ? .unsupported : .badInput))
            }
        }
    }
}

@Test(arguments: QuantType.allCases)
func theFirstRefusedGroupIsNamed(type: QuantType) throws {
    // Too large in group 1, NaN in group 2 of the same row: group 1 is named.
    let layout = try QuantLayout(type: type, rows: 4, columns: 256, groupSize: 32)
    var values = Distribution.normal.values(4 * 256, seed: 12)
    values[256 + 40] = 1e30
    values[256 + 70] = .nan
    for path in Quantizer.paths {
        let result = run(encode(values, as: .f32), dtype: .f32, layout: layout, method: .search, path: path)
        guard case .failure(let error) = result else {
            Issue.record("\(path): accepted")
            continue
        }
        #expect(error.message == "row 1, columns 32..<64: values too large for \(type.rawValue)'s f16 scales", "\(path)")
    }
}

@Test func bf16SourceQuantizesLikeItsWidenedValues() throws {
    let shape = (rows: 40, columns: 1030, group: 128)
    let values = encode(Distribution.outliers.values(shape.rows * shape.columns, seed: 4), as: .bf16)
    let widened = values.withUnsafeBytes { raw in (0..<shape.rows * shape.columns).map { FloatBits.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) } }
    for type in QuantType.allCases {
        let layout = try QuantLayout(type: type, rows: shape.rows, columns: shape.columns, groupSize: shape.group)
        let direct = try run(values, dtype: .bf16, layout: layout, method: .search, path: .best).get()
        let viaFloats = try run(encode(widened, as: .f32), dtype: .f32, layout: layout, method: .search, path: .best).get()
        #expect(direct.0 == viaFloats.0 && direct.1 == viaFloats.1)
    }
}
