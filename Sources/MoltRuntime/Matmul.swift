import COpenBLAS
import MoltKernels

// The forward pass's matrix products: f32 weights through OpenBLAS (row-major; weights are
// [out, in], so they enter transposed), packed ones through Molt's kernels.

extension BlackMambaModel {
    /// c[m, w.rows] = a[m, w.cols] · w^T, or c += that when `accumulate`. Rows of `a` are `lda`
    /// floats apart and rows of `c` `ldc` apart, so column blocks of wider buffers can be used.
    /// One row (a decode step, or an expert one prompt position chose) takes the matrix-vector
    /// kernels, which stream the weights once; a matrix-matrix product would first prepare them
    /// for many rows. So do `stepwise` rows, each another sequence's decode step: each gets the
    /// bits its sequence's own step would, from one pass over the weights.
    func matmul(
        _ a: UnsafePointer<Float>, rows m: Int, lda: Int, _ w: Matrix,
        into c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, stepwise: Bool = false
    ) {
        beforeEachProduct?()
        let vector = m == 1 || stepwise
        if let packed = w.packed {
            return packedProduct(a, rows: m, lda: lda, packed, into: c, ldc: ldc, accumulate: accumulate, vector: vector)
        }
        if vector {
            for r in 0..<m { matvec(w, a + r * lda, into: c + r * ldc, accumulate: accumulate) }
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(w.rows), Int32(w.cols),
            1, a, Int32(lda), w.base, Int32(w.cols), accumulate ? 1 : 0, c, Int32(ldc))
    }

    /// The same product over packed weights: the kernels read dense rows in and write dense rows
    /// out, so strided inputs are gathered and strided or accumulated outputs go through scratch.
    private func packedProduct(
        _ a: UnsafePointer<Float>, rows m: Int, lda: Int, _ w: WeightMatrix,
        into c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, vector: Bool
    ) {
        let k = w.columns, n = w.rows
        let gather = lda != k, direct = ldc == n && !accumulate
        func product(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
            if vector {
                w.matvec(x, y, count: m, threads: kernels, activations: w.activations)
            } else {
                w.matmul(x, count: m, y, threads: kernels, activations: w.activations)
            }
        }
        if !gather && direct { return product(a, into: c) }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: (gather ? m * k : 0) + (direct ? 0 : m * n)) { scratch in
            guard let base = scratch.baseAddress else { return }
            var x = a
            if gather {
                for r in 0..<m { (base + r * k).update(from: a + r * lda, count: k) }
                x = UnsafePointer(base)
            }
            let y = direct ? c : base + (gather ? m * k : 0)
            product(x, into: y)
            guard !direct else { return }
            for r in 0..<m {
                let out = c + r * ldc, result = y + r * n
                if accumulate {
                    for j in 0..<n { out[j] += result[j] }
                } else {
                    out.update(from: result, count: n)
                }
            }
        }
    }
}

extension WeightMatrix {
    /// How every product with this weight rounds its activations, per block of 32, for
    /// integer dot products: int8 for q4 weights, int16 for q8 (one multiply-add instruction
    /// per 32 weights instead of six). Both read weights faster than with f32 activations, at
    /// an error small next to the weights' own (Formats/kernels.md; BENCHMARKS.md, "Kernel
    /// design choices"). Products of several rows round as matrix-vector products do, so a
    /// prefill and the decode of one position round the same activations the same way. q8
    /// takes int16, not int8: int8 activations made the q8 conversion of the b-zip-megatron
    /// fixture fail its top-1 threshold (0.927 against 0.93), where q8's own weight error is
    /// small next to the rounding of x.
    var activations: ActivationPrecision {
        switch element {
        case .q4: .int8
        case .q8: .int16
        default: .float32
        }
    }
}

/// y[w.rows] = w · x, or y += that when `accumulate`.
func matvec(_ w: Matrix, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
    cblas_sgemv(
        CblasRowMajor, CblasNoTrans, Int32(w.rows), Int32(w.cols),
        1, w.base, Int32(w.cols), x, 1, accumulate ? 1 : 0, y, 1)
}
