import Foundation
import MoltCore
import MoltKernels
import MoltQuant

/// The tests' seeded source of data, so failures reproduce.
typealias Random = SplitMix64

extension SplitMix64 {
    /// Weights: normal, with an offset in some rows (what q4's minimum is for).
    mutating func weights(_ count: Int, columns: Int) -> [Float] {
        (0..<count).map { i in (i / max(columns, 1)) % 5 == 4 ? 0.1 + 0.02 * normal() : 0.02 * normal() }
    }

    /// Activations like a transformer's: normal, with a few channels 20x larger.
    mutating func activations(_ count: Int) -> [Float] {
        (0..<count).map { _ in unit() < 0.02 ? 20 * normal() : normal() }
    }
}

/// A test matrix in one element type, with the weights every kernel must agree with (as
/// MoltQuant's Reconstruction or FloatBits decode them) and, per weight, the magnitude of its
/// scaled integer |scale * q| (the part the int8 activations multiply; |w| for float types).
struct Fixture {
    let matrix: WeightMatrix
    let rows: Int, columns: Int
    let weights: [Float]
    let scaled: [Float]
    /// |min| per weight, 0 but for q4.
    let offsets: [Float]
    /// q8/q4: each weight's stored integer (q8: -127...127; q4: 0...15), and each group's
    /// scale and minimum (0 for q8), [rows, groups]; empty for float types.
    let integers: [Int]
    let groupScales: [Float], groupMinimums: [Float]

    init(_ element: MoltTensorType, rows: Int, columns: Int, groupSize: Int, seed: UInt64) throws {
        var random = Random(seed: seed)
        let source = random.weights(rows * columns, columns: columns)
        self.rows = rows
        self.columns = columns
        switch element {
        case .f32, .f16, .bf16:
            let dtype: DType = element == .f32 ? .f32 : element == .f16 ? .f16 : .bf16
            let storage = Storage(byteCount: rows * columns * dtype.size) { out in
                for (i, v) in source.enumerated() {
                    switch element {
                    case .f32: out.storeBytes(of: v, toByteOffset: 4 * i, as: Float.self)
                    case .f16: out.storeBytes(of: FloatBits.floatToF16(v), toByteOffset: 2 * i, as: UInt16.self)
                    default: out.storeBytes(of: FloatBits.floatToBF16(v), toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
            }
            let tensor = try Tensor(storage: storage, dtype: dtype, shape: [rows, columns])
            matrix = try WeightMatrix(tensor)
            weights = try tensor.floatValues()
            scaled = weights.map(abs)
            offsets = [Float](repeating: 0, count: weights.count)
            integers = []
            groupScales = []
            groupMinimums = []
        case .q8, .q4:
            let type: QuantType = element == .q8 ? .q8 : .q4
            let quantized = try source.withUnsafeBufferPointer {
                try Quantizer.quantize($0, rows: rows, columns: columns, type: type, groupSize: groupSize, method: .nearest)
            }.matrix
            matrix = try WeightMatrix(quantized)
            weights = Reconstruction.dequantize(quantized)
            let layout = quantized.layout
            var scaled = [Float](), offsets = [Float](), integers = [Int](), groupScales = [Float](), groupMinimums = [Float]()
            let groups = (columns + groupSize - 1) / groupSize
            for r in 0..<rows {
                let row = quantized.row(r)
                func half(_ offset: Int) -> Float { FloatBits.f16ToFloat(row.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
                for group in 0..<groups {
                    groupScales.append(half(layout.scalesOffset + 2 * group))
                    groupMinimums.append(type == .q8 ? 0 : half(layout.minimumsOffset + 2 * group))
                }
                for c in 0..<columns {
                    let group = c / groupSize, j = c % groupSize
                    let scale = half(layout.scalesOffset + 2 * group)
                    if type == .q8 {
                        let q = Int(Int8(bitPattern: row[c]))
                        integers.append(q)
                        scaled.append(abs(scale * Float(q)))
                        offsets.append(0)
                    } else {
                        let byte = row[group * groupSize / 2 + j % (groupSize / 2)]
                        let q = j < groupSize / 2 ? byte & 15 : byte >> 4
                        integers.append(Int(q))
                        scaled.append(abs(scale * Float(q)))
                        offsets.append(abs(half(layout.minimumsOffset + 2 * group)))
                    }
                }
            }
            self.scaled = scaled
            self.offsets = offsets
            self.integers = integers
            self.groupScales = groupScales
            self.groupMinimums = groupMinimums
        }
    }

    /// W x in Double over the reconstructed weights.
    func reference(_ x: [Float]) -> [Double] {
        (0..<rows).map { r in
            var sum = 0.0
            for c in 0..<columns { sum += Double(weights[r * columns + c]) * Double(x[c]) }
            return sum
        }
    }

    /// The bound on |y - reference| for f32 arithmetic in any summation order over the padded
    /// row: (K + 16) units of roundoff of the sum of the magnitudes of every term the kernels
    /// add (scale * q * x, and min * x through the group sums).
    func roundoffBound(_ x: [Float], row r: Int) -> Double {
        var magnitude = 0.0
        for c in 0..<columns {
            magnitude += Double(scaled[r * columns + c] + offsets[r * columns + c]) * Double(abs(x[c]))
        }
        let k = matrix.groupSize > 0 ? (columns + matrix.groupSize - 1) / matrix.groupSize * matrix.groupSize : columns
        return Double(k + 16) * 0x1p-24 * magnitude
    }

    /// What quantizing x per block of 32 to integers up to `levels` may add: half an
    /// activation step (plus the rounding of the step and of its inverse) times |scale * q|,
    /// summed.
    func activationBound(_ x: [Float], row r: Int, levels: Double = 127) -> Double {
        var bound = 0.0
        for start in stride(from: 0, to: columns, by: 32) {
            let block = start..<min(start + 32, columns)
            let step = Double(block.map { abs(x[$0]) }.max() ?? 0) / levels
            for c in block { bound += 0.5001 * step * Double(scaled[r * columns + c]) }
        }
        return bound
    }
}

/// Ragged shapes: rows not a multiple of any tile, columns with a padded last group, an odd
/// number of G = 32 groups (half a SIMD chunk at the end), G = 64, 128 and 96 (an odd multiple
/// of 32, whose groups straddle the 64-value chunks), and an odd count of G = 32 groups above 8
/// (the last window of eight scales overlaps the one before it; q4's last 64-byte chunk holds
/// three groups).
let shapes: [(rows: Int, columns: Int, groupSize: Int)] = [
    (37, 100, 32), (23, 70, 32), (9, 5, 32), (70, 256, 64), (33, 200, 64), (19, 300, 128), (45, 290, 96),
    (130, 1152, 32), (11, 330, 32),
]
