import CMoltQuant
import MoltCore
import Testing

@testable import MoltQuant

/// Shapes covering whole groups and ragged last groups (in % G != 0).
/// (300, 100) spans two blocks of parallel work; q4 tiles of 8 groups cross row boundaries.
private let shapes: [(rows: Int, columns: Int, group: Int)] = [(24, 256, 32), (17, 100, 32), (9, 40, 32), (5, 200, 64), (300, 100, 32)]

private func quantize(_ values: [Float], _ shape: (rows: Int, columns: Int, group: Int), _ type: QuantType, _ method: QuantMethod) throws -> (QuantizedMatrix, QuantError) {
    try values.withUnsafeBufferPointer {
        try Quantizer.quantize($0, rows: shape.rows, columns: shape.columns, type: type, groupSize: shape.group, method: method)
    }
}

/// Squared error of every group, in f64, from the dequantized matrix.
private func groupErrors(_ original: [Float], _ decoded: [Float], columns: Int, group: Int) -> [Double] {
    var errors: [Double] = []
    for rowStart in stride(from: 0, to: original.count, by: columns) {
        for start in stride(from: 0, to: columns, by: group) {
            var sum = 0.0
            for c in start..<min(start + group, columns) {
                let d = Double(original[rowStart + c]) - Double(decoded[rowStart + c])
                sum += d * d
            }
            errors.append(sum)
        }
    }
    return errors
}

@Test(arguments: Distribution.allCases, QuantType.allCases)
func roundTripWithinBounds(distribution: Distribution, type: QuantType) throws {
    // Documented in Formats/quantization.md: relative RMS error bounds on these distributions.
    let bound: Double = type == .q8 ? (distribution == .outliers ? 0.02 : 0.008) : (distribution == .outliers ? 0.25 : 0.11)
    for (index, shape) in shapes.enumerated() {
        let values = distribution.values(shape.rows * shape.columns, seed: UInt64(index + 1))
        let (matrix, error) = try quantize(values, shape, type, .search)
        let decoded = Reconstruction.dequantize(matrix)
        #expect(error.relativeRMS < bound, "\(distribution) \(type) \(shape): \(error.relativeRMS)")
        // The reported error is the error of the stored bytes, summed in the documented order.
        #expect(measuredError(values, decoded, columns: shape.columns) == error)
    }
}

@Test(arguments: Distribution.allCases, QuantType.allCases)
func searchBeatsRoundToNearest(distribution: Distribution, type: QuantType) throws {
    for (index, shape) in shapes.enumerated() {
        let values = distribution.values(shape.rows * shape.columns, seed: UInt64(100 + index))
        let (searched, searchError) = try quantize(values, shape, type, .search)
        let (nearest, nearestError) = try quantize(values, shape, type, .nearest)
        #expect(searchError.errorEnergy < nearestError.errorEnergy, "\(distribution) \(type) \(shape)")
        // Never worse on any single group either (up to f32 summation order).
        let a = groupErrors(values, Reconstruction.dequantize(searched), columns: shape.columns, group: shape.group)
        let b = groupErrors(values, Reconstruction.dequantize(nearest), columns: shape.columns, group: shape.group)
        for (s, n) in zip(a, b) { #expect(s <= n * (1 + 1e-5) + 1e-30) }
    }
}

@Test(arguments: QuantType.allCases)
func roundToNearestErrorIsHalfAStep(type: QuantType) throws {
    let shape = (rows: 16, columns: 100, group: 32)
    let values = Distribution.normal.values(shape.rows * shape.columns, seed: 7)
    let (matrix, _) = try quantize(values, shape, type, .nearest)
    let decoded = Reconstruction.dequantize(matrix)
    let layout = matrix.layout
    for r in 0..<shape.rows {
        let row = matrix.row(r)
        for g in 0..<layout.groups {
            let scale = FloatBits.f16ToFloat(row.loadUnaligned(fromByteOffset: layout.scalesOffset + 2 * g, as: UInt16.self))
            let columns = g * 32..<min((g + 1) * 32, shape.columns)
            let group = columns.map { values[r * shape.columns + $0] }
            // q4's f16 minimum may sit off the group's minimum by its rounding; allow for it.
            var slack: Float = 0
            if type == .q4, let low = group.min(), let high = group.max() {
                let minimum = FloatBits.f16ToFloat(row.loadUnaligned(fromByteOffset: layout.minimumsOffset + 2 * g, as: UInt16.self))
                slack = abs(minimum - low) + (high - low) * 0x1p-10
            }
            for c in columns {
                let i = r * shape.columns + c
                #expect(abs(values[i] - decoded[i]) <= scale / 2 * 1.0001 + slack)
            }
        }
    }
}

/// Decodes the bytes by reading Formats/molt.md literally, independently of the library.
private func decodeBySpec(_ matrix: QuantizedMatrix) -> [Float] {
    let layout = matrix.layout, g = layout.groupSize
    var out: [Float] = []
    for r in 0..<layout.rows {
        let row = matrix.row(r)
        for c in 0..<layout.columns {
            let group = c / g
            let scale = Float(Float16(bitPattern: row.loadUnaligned(fromByteOffset: layout.groups * (layout.type == .q8 ? g : g / 2) + 2 * group, as: UInt16.self)))
            switch layout.type {
            case .q8:
                out.append(scale * Float(row.load(fromByteOffset: c, as: Int8.self)))
            case .q4:
                let minimum = Float(Float16(bitPattern: row.loadUnaligned(fromByteOffset: layout.groups * (g / 2 + 2) + 2 * group, as: UInt16.self)))
                let within = c % g
                let byte = row[group * g / 2 + within % (g / 2)]
                let q = within < g / 2 ? byte & 15 : byte >> 4
                out.append((scale * Float(q)).addingProduct(0, 0) + minimum)
            }
        }
    }
    return out
}

@Test(arguments: QuantType.allCases, [32, 64])
func dequantizationIsTheDocumentedArithmetic(type: QuantType, group: Int) throws {
    let shape = (rows: 6, columns: 150, group: group)
    let values = Distribution.offset.values(shape.rows * shape.columns, seed: 3)
    let (matrix, _) = try quantize(values, shape, type, .search)
    let library = Reconstruction.dequantize(matrix)
    let spec = decodeBySpec(matrix)
    #expect(library.map(\.bitPattern) == spec.map(\.bitPattern))
    // Fused multiply-add gives the same weights: the product is exact.
    if type == .q4 {
        let layout = matrix.layout
        let row = matrix.row(0)
        let scale = FloatBits.f16ToFloat(row.loadUnaligned(fromByteOffset: layout.scalesOffset, as: UInt16.self))
        let minimum = FloatBits.f16ToFloat(row.loadUnaligned(fromByteOffset: layout.minimumsOffset, as: UInt16.self))
        for q in 0...15 { #expect(minimum.addingProduct(scale, Float(q)) == scale * Float(q) + minimum) }
    }
}

@Test(arguments: QuantType.allCases)
func paddedColumnsAreStoredAsZero(type: QuantType) throws {
    let shape = (rows: 3, columns: 40, group: 32)
    let values = Distribution.offset.values(shape.rows * shape.columns, seed: 5)
    let (matrix, _) = try quantize(values, shape, type, .search)
    #expect(matrix.layout.paddedColumns == 24)
    for r in 0..<shape.rows {
        let row = matrix.row(r)
        switch type {
        case .q8: #expect((40..<64).allSatisfy { row[$0] == 0 })
        // Group 1 holds elements 32..63: bytes 16..31, element 32 + j in byte 16 + j's low nibble.
        case .q4:
            #expect((16 + 8..<32).allSatisfy { row[$0] & 15 == 0 })
            #expect((16..<32).allSatisfy { row[$0] >> 4 == 0 })
        }
    }
}

@Test(arguments: QuantType.allCases)
func zeroAndConstantGroupsAreExact(type: QuantType) throws {
    let shape = (rows: 2, columns: 64, group: 32)
    // A constant is exact when it is a representable scale * q: 127 * 2^-7 for q8, any f16 for q4.
    let constant: Float = type == .q8 ? 127 * 0x1p-7 : 0.75
    let values = [Float](repeating: 0, count: 64) + [Float](repeating: constant, count: 64)
    let (matrix, error) = try quantize(values, shape, type, .search)
    #expect(Reconstruction.dequantize(matrix) == values)
    #expect(error.errorEnergy == 0)
    #expect(error.sqnrDB == nil)
}

@Test(arguments: QuantType.allCases)
func badValuesAreRefused(type: QuantType) throws {
    let shape = (rows: 2, columns: 32, group: 32)
    var values = [Float](repeating: 1, count: 64)
    values[40] = .nan
    #expect(throws: MoltError.self) { try quantize(values, shape, type, .search) }
    values[40] = .infinity
    #expect(throws: MoltError.self) { try quantize(values, shape, type, .search) }
    values[40] = 1e30
    let error = #expect(throws: MoltError.self) { try quantize(values, shape, type, .search) }
    #expect(error?.kind == .unsupported)
}

@Test func layoutSizes() throws {
    let q8 = try QuantLayout(type: .q8, rows: 6144, columns: 1152, groupSize: 32)
    #expect(q8.rowStride == 36 * 34 && q8.byteCount == 6144 * 36 * 34)
    let q4 = try QuantLayout(type: .q4, rows: 3, columns: 40, groupSize: 32)
    #expect(q4.rowStride == 40 && q4.scalesOffset == 32 && q4.minimumsOffset == 36)
    #expect(throws: MoltError.self) { try QuantLayout(type: .q4, rows: 1, columns: 1, groupSize: 48) }
    #expect(throws: MoltError.self) { try QuantLayout(type: .q8, rows: Int.max, columns: 64, groupSize: 32) }
}

@Test func halfRoundingMatchesFloat16() {
    var random = Random(seed: 11)
    var values: [Float] = [0, -0, 0x1p-25, 0x1.8p-25, 0x1p-24, 0x1.7fcp-15, 0x1p-14, 65504, 65519.99, 65520, -65520, 1e9, -1e-9]
    for _ in 0..<200_000 {
        // Random bit patterns over the f16 range and beyond, both signs.
        let exponent = Int(random.next() % 50) - 30
        values.append(Float(sign: random.next() & 1 == 0 ? .plus : .minus, exponent: exponent, significand: 1 + random.unit()))
    }
    for x in values {
        // Equal as numbers: tiny negatives give +0 where Float16 gives -0 (every path stores
        // +0). Beyond f16's range: +infinity whatever the sign, only ever tested for finite.
        let expected = Float(Float16(x))
        if expected.isFinite {
            #expect(molt_quant_round_to_half(x) == expected, "\(x)")
        } else {
            #expect(molt_quant_round_to_half(x) == .infinity, "\(x)")
        }
    }
}
