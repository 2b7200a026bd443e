import MoltCore
import MoltKernels
import MoltQuant
import Testing

@Suite struct MatmulTests {
    /// f32 activations: every Y element must be exactly the sequential fused multiply-add over
    /// the columns of X's row and W's (dequantized) row, on every path and route (and so within f32 roundoff
    /// of the Double product). The counts of rows of X cover the AVX-512 tile's narrow (at most
    /// 8 rows) and wide blocks, alone and after a full block.
    @Test(arguments: MoltTensorType.allCases)
    func isSequentialFusedSum(element: MoltTensorType) throws {
        for (index, shape) in shapes.enumerated() {
            let fixture = try Fixture(element, rows: shape.rows, columns: shape.columns, groupSize: shape.groupSize, seed: UInt64(index))
            for t in [1, 5, 13, 20, 30] {
                var random = Random(seed: 200 + UInt64(index))
                let x = random.activations(t * shape.columns)
                var expected = [Float](repeating: 0, count: t * shape.rows)
                for i in 0..<t {
                    for r in 0..<shape.rows {
                        var sum: Float = 0
                        for c in 0..<shape.columns {
                            sum.addProduct(x[i * shape.columns + c], fixture.weights[r * shape.columns + c])
                        }
                        expected[i * shape.rows + r] = sum
                    }
                }
                for path in KernelPath.supported {
                    let y = fixture.matrix.matmul(x, count: t, path: path)
                    let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(mismatches == 0, "\(element) \(shape) t=\(t) \(path): \(mismatches) of \(y.count) differ")
                }
            }
        }
    }

    /// q8/q4 weights with int8 activations, and q8 with int16: every Y element must be exactly
    /// Formats/kernels.md's integer product, as written out here in Swift (X quantized per block of 32, exact integer
    /// dot products, the f32 steps in their fixed order), on every path, for row counts of X
    /// around both lane widths (8 and 16) and rows of W around the tiles (4, 8) and tasks (32);
    /// and within the activations' quantization bound plus f32 roundoff of the Double product.
    @Test(arguments: [(MoltTensorType.q8, ActivationPrecision.int8), (.q4, .int8), (.q8, .int16)])
    func isTheIntegerProduct(element: MoltTensorType, activations: ActivationPrecision) throws {
        let levels = activations == .int16 ? 32767 : 127
        for (index, shape) in shapes.enumerated() {
            let fixture = try Fixture(element, rows: shape.rows, columns: shape.columns, groupSize: shape.groupSize, seed: UInt64(index))
            for t in [1, 2, 7, 8, 9, 16, 17, 33] {
                var random = Random(seed: 300 + UInt64(index))
                let x = random.activations(t * shape.columns)
                let expected = integerProduct(fixture, x, t: t, groupSize: shape.groupSize, levels: levels)
                for path in KernelPath.supported {
                    let y = fixture.matrix.matmul(x, count: t, path: path, activations: activations)
                    let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(mismatches == 0, "\(element) \(activations) \(shape) t=\(t) \(path): \(mismatches) of \(y.count) differ")
                }
                for i in 0..<t {
                    let row = Array(x[i * shape.columns..<(i + 1) * shape.columns])
                    let reference = fixture.reference(row)
                    for r in 0..<shape.rows {
                        let bound = fixture.activationBound(row, row: r, levels: Double(levels)) + 2 * fixture.roundoffBound(row, row: r)
                        let error = abs(Double(expected[i * shape.rows + r]) - reference[r])
                        #expect(error <= bound, "\(element) \(shape) t=\(t) [\(i), \(r)]: error \(error) > \(bound)")
                    }
                }
            }
        }
    }

    /// Formats/kernels.md's integer product of q8/q4 weights, element by element, with X's
    /// blocks rounded to integers up to `levels` (127 or 32767).
    private func integerProduct(_ fixture: Fixture, _ x: [Float], t: Int, groupSize g: Int, levels: Int) -> [Float] {
        let k = fixture.columns, groups = (k + g - 1) / g, padded = groups * g
        var y = [Float](repeating: 0, count: t * fixture.rows)
        for i in 0..<t {
            var values = Array(x[i * k..<(i + 1) * k]) + [Float](repeating: 0, count: padded - k)
            // Blocks of 32 to integers, symmetric, half to even, as the matrix-vector kernels do.
            var quantized = [Int](repeating: 0, count: padded), blockScales = [Float]()
            for start in stride(from: 0, to: padded, by: 32) {
                let largest = values[start..<start + 32].reduce(Float(0)) { max($0, abs($1)) }
                let inverse: Float = largest > 0 ? Float(levels) / largest : 0
                for c in start..<start + 32 {
                    quantized[c] = max(-levels, min(levels, Int((values[c] * inverse).rounded(.toNearestOrEven))))
                }
                blockScales.append(largest / Float(levels))
            }
            let groupSums = (0..<groups).map { group in values[group * g..<(group + 1) * g].reduce(Float(0), +) }
            values = []
            for r in 0..<fixture.rows {
                var sum: Float = 0, offset: Float = 0
                for group in 0..<groups {
                    let scale = fixture.groupScales[r * groups + group]
                    for start in stride(from: group * g, to: (group + 1) * g, by: 32) {
                        var dot = 0
                        for c in start..<max(start, min(start + 32, k)) { dot += fixture.integers[r * k + c] * quantized[c] }
                        sum.addProduct(Float(dot), scale * blockScales[start / 32])
                    }
                    offset.addProduct(fixture.groupMinimums[r * groups + group], groupSums[group])
                }
                y[i * fixture.rows + r] = sum + offset
            }
        }
        return y
    }

    @Test(arguments: [(MoltTensorType.q4, ActivationPrecision.int8), (.q8, .int8), (.q8, .int16), (.q4, .float32), (.bf16, .float32)])
    func threadCountDoesNotChangeResult(element: MoltTensorType, activations: ActivationPrecision) throws {
        let fixture = try Fixture(element, rows: 200, columns: 300, groupSize: 32, seed: 3)
        var random = Random(seed: 4)
        let x = random.activations(17 * 300)
        for path in KernelPath.supported {
            let results = [1, 2, 3].map { fixture.matrix.matmul(x, count: 17, threads: KernelThreads(count: $0), path: path, activations: activations) }
            #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern), "\(element) \(path)")
            #expect(results[0].map(\.bitPattern) == results[2].map(\.bitPattern), "\(element) \(path)")
        }
    }
}
