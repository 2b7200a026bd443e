import MoltCore
import MoltKernels
import MoltQuant
import Testing

@Suite struct MatvecTests {
    /// Every supported path, both activation precisions, every ragged shape: each row within
    /// the worst-case rounding bound of the Double product of the reconstructed weights (plus,
    /// for int8 activations on q8/q4, the activation quantization bound), and the vector's
    /// relative L2 error within what these data show (f32: about 1e-7 to 7e-7; int8: 0.2% to
    /// 2.3%, these activations having outlier channels) with a margin.
    @Test(arguments: MoltTensorType.allCases)
    func matchesReference(element: MoltTensorType) throws {
        for (index, shape) in shapes.enumerated() {
            let fixture = try Fixture(element, rows: shape.rows, columns: shape.columns, groupSize: shape.groupSize, seed: UInt64(index))
            var random = Random(seed: 100 + UInt64(index))
            let x = random.activations(shape.columns)
            let reference = fixture.reference(x)
            for path in KernelPath.supported {
                for activations in ActivationPrecision.allCases {
                    let y = fixture.matrix.matvec(x, path: path, activations: activations)
                    // int16 applies to q8 alone; q4 and float weights take f32 activations then.
                    let int8 = activations == .int8 && (element == .q8 || element == .q4)
                    let int16 = activations == .int16 && element == .q8
                    var errorEnergy = 0.0, energy = 0.0
                    for r in 0..<shape.rows {
                        let quantization = int8 ? fixture.activationBound(x, row: r)
                            : int16 ? fixture.activationBound(x, row: r, levels: 32767) : 0
                        let bound = quantization + fixture.roundoffBound(x, row: r) * (1 + (int8 || int16 ? 1 : 0))
                        let error = abs(Double(y[r]) - reference[r])
                        #expect(
                            error <= bound,
                            "\(element) \(shape) \(path) \(activations) row \(r): \(y[r]) vs \(reference[r]), error \(error) > \(bound)")
                        if error > bound { return }
                        errorEnergy += error * error
                        energy += reference[r] * reference[r]
                    }
                    let relative = energy > 0 ? (errorEnergy / energy).squareRoot() : 0
                    #expect(
                        relative <= (int8 ? 0.04 : int16 ? 2e-4 : 2e-6),
                        "\(element) \(shape) \(path) \(activations): relative L2 error \(relative)")
                }
            }
        }
    }

    /// Each row is computed whole by one thread, so 1, 2 or 3 threads give the same bits.
    @Test(arguments: MoltTensorType.allCases)
    func threadCountDoesNotChangeResult(element: MoltTensorType) throws {
        let fixture = try Fixture(element, rows: 301, columns: 290, groupSize: 32, seed: 7)
        var random = Random(seed: 8)
        let x = random.activations(290)
        let pools = [1, 2, 3].map { KernelThreads(count: $0) }
        for path in KernelPath.supported {
            for activations in ActivationPrecision.allCases {
                let results = pools.map { fixture.matrix.matvec(x, threads: $0, path: path, activations: activations) }
                #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern), "\(element) \(path) \(activations)")
                #expect(results[0].map(\.bitPattern) == results[2].map(\.bitPattern), "\(element) \(path) \(activations)")
            }
        }
    }

    /// Several vectors in one call share the pass over the weights, and each gets the bits it
    /// gets alone, on every path and precision: 1 to 9 vectors (every blocking of the
    /// multi-vector kernels and its remainders), rows that span several of a task's pieces,
    /// and every ragged shape (rows and columns off any blocking, G of 32, 64, 96 and 128).
    @Test(arguments: MoltTensorType.allCases)
    func severalVectorsGetTheirOwnResults(element: MoltTensorType) throws {
        let cases = [(rows: 1_201, columns: 290, groupSize: 32)] + shapes
        for (index, shape) in cases.enumerated() {
            let fixture = try Fixture(element, rows: shape.rows, columns: shape.columns, groupSize: shape.groupSize,
                                      seed: 11 + UInt64(index))
            var random = Random(seed: 200 + UInt64(index))
            let xs = (0..<9).map { _ in random.activations(shape.columns) }
            let rows = fixture.matrix.rows
            for path in KernelPath.supported {
                for activations in ActivationPrecision.allCases {
                    let alone = xs.map { fixture.matrix.matvec($0, path: path, activations: activations) }
                    for count in 1...xs.count {
                        var together = [Float](repeating: .nan, count: count * rows)
                        xs[0..<count].joined().map { $0 }.withUnsafeBufferPointer { x in
                            together.withUnsafeMutableBufferPointer { y in
                                fixture.matrix.matvec(x.baseAddress!, y.baseAddress!, count: count, path: path,
                                                      activations: activations)
                            }
                        }
                        for v in 0..<count {
                            #expect(
                                together[v * rows..<(v + 1) * rows].map(\.bitPattern) == alone[v].map(\.bitPattern),
                                "\(element) \(shape) \(path) \(activations) count \(count) vector \(v)")
                        }
                    }
                }
            }
        }
    }

    /// The integer kernels all multiply the same quantized activations; only the order of the
    /// f32 sums of the exact integer dot products differs.
    @Test(arguments: [(MoltTensorType.q8, ActivationPrecision.int8), (.q4, .int8), (.q8, .int16)])
    func integerPathsAgree(element: MoltTensorType, activations: ActivationPrecision) throws {
        let fixture = try Fixture(element, rows: 64, columns: 1152, groupSize: 32, seed: 11)
        var random = Random(seed: 12)
        let x = random.activations(1152)
        let scalar = fixture.matrix.matvec(x, path: .scalar, activations: activations)
        for path in KernelPath.supported where path != .scalar {
            let y = fixture.matrix.matvec(x, path: path, activations: activations)
            for r in 0..<64 {
                let bound = 2 * fixture.roundoffBound(x, row: r)
                #expect(abs(Double(y[r]) - Double(scalar[r])) <= bound, "\(element) \(path) row \(r): \(y[r]) vs \(scalar[r])")
            }
        }
    }

    @Test func emptyAndZeroShapes() throws {
        let empty = try Fixture(.q4, rows: 0, columns: 64, groupSize: 32, seed: 1)
        #expect(empty.matrix.matvec([Float](repeating: 1, count: 64)).isEmpty)
        let noColumns = try Fixture(.f32, rows: 3, columns: 0, groupSize: 32, seed: 1)
        #expect(noColumns.matrix.matvec([]) == [0, 0, 0])
    }

    @Test func rejectsWrongByteCounts() {
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 64)
        defer { bytes.deallocate() }
        #expect(throws: (any Error).self) {
            try WeightMatrix(element: .q4, rows: 2, columns: 64, groupSize: 32, pointer: bytes, byteCount: 1024)
        }
        #expect(throws: (any Error).self) {
            try WeightMatrix(element: .q8, rows: 1, columns: 64, groupSize: 48, pointer: bytes, byteCount: 100)
        }
        #expect(throws: (any Error).self) {
            try WeightMatrix(element: .f32, rows: 1, columns: 4, pointer: bytes + 2, byteCount: 16)
        }
    }
}
