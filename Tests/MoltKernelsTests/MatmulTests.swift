import MoltCore
import MoltKernels
import MoltQuant
import Testing

@Suite struct MatmulTests {
    /// Every Y element must be exactly the sequential fused multiply-add over the columns of
    /// X's row and W's reconstructed row, on every path and route (and so within f32 roundoff
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

    @Test(arguments: [MoltTensorType.q4, .bf16])
    func threadCountDoesNotChangeResult(element: MoltTensorType) throws {
        let fixture = try Fixture(element, rows: 200, columns: 300, groupSize: 32, seed: 3)
        var random = Random(seed: 4)
        let x = random.activations(17 * 300)
        for path in KernelPath.supported {
            let results = [1, 2, 3].map { fixture.matrix.matmul(x, count: 17, threads: KernelThreads(count: $0), path: path) }
            #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern), "\(element) \(path)")
            #expect(results[0].map(\.bitPattern) == results[2].map(\.bitPattern), "\(element) \(path)")
        }
    }
}
