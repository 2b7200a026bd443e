import COpenBLAS
import MoltKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Both norms use the published epsilon.
let normEpsilon = 1e-5

// MARK: Norms (one row of `count` values; sums in Double so the row length does not matter)

/// out = x / sqrt(mean(x^2) + eps) * weight
func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var squares = 0.0
    for i in 0..<count { squares += Double(x[i]) * Double(x[i]) }
    let scale = Float(1 / (squares / Double(count) + normEpsilon).squareRoot())
    for i in 0..<count { out[i] = x[i] * scale * weight[i] }
}

/// out = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
func layerNorm(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>, count: Int
) {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i]) }
    let mean = sum / Double(count)
    var squares = 0.0
    for i in 0..<count { squares += (Double(x[i]) - mean) * (Double(x[i]) - mean) }
    let scale = 1 / (squares / Double(count) + normEpsilon).squareRoot()
    for i in 0..<count { out[i] = Float((Double(x[i]) - mean) * scale) * weight[i] + bias[i] }
}

// MARK: Activations

@inline(__always) func silu(_ v: Float) -> Float { v / (1 + expf(-v)) }

@inline(__always) func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

/// The exact (erf) GELU, which the published experts use.
@inline(__always) func gelu(_ v: Float) -> Float { 0.5 * v * (1 + erff(v * 0.70710678118654752)) }

// MARK: Matrix products (OpenBLAS, row-major; weights are [out, in] so they enter transposed)

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
                w.matvec(x, y, count: m, threads: kernels, activations: w.vectorActivations)
            } else {
                w.matmul(x, count: m, y, threads: kernels)
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
    /// Matrix-vector products round their activations per block of 32 for integer dot
    /// products: int8 for q4 weights, int16 for q8. q4 with int8 activations reads 26-28 GB/s
    /// of weights with 2 threads here against 17-19 with f32 ones (30-layer decode 13% faster);
    /// the rounding added 6% to the trained fixture's decode KL (2.03e-4 against 1.91e-4),
    /// small next to q4's own error. q8 with int16 activations (one multiply-add instruction
    /// per 32 weights instead of six) reads 19.6 against 14.5 GB/s on one thread, rounding x
    /// to about 1.5e-5 of each block's largest value. Products of several rows keep f32.
    var vectorActivations: ActivationPrecision {
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

/// Adds `bias` (when the checkpoint has one) to each of `rows` consecutive rows of `width` values.
func addBias(_ bias: UnsafePointer<Float>?, to x: UnsafeMutablePointer<Float>, rows: Int = 1, width: Int) {
    guard let bias else { return }
    for r in 0..<rows {
        let row = x + r * width
        for i in 0..<width { row[i] += bias[i] }
    }
}

/// Index of the largest value; the lowest index wins ties, as torch's argmax does.
func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    for i in 1..<max(count, 1) where values[i] > values[best] { best = i }
    return best
}

extension BlackMambaModel {
    /// Splits 0..<count into `threads` contiguous blocks and runs them concurrently on the
    /// kernels' threads, which spin between products: a decode step's element-wise loops can
    /// then share a core that would otherwise wait. Each index is handled by exactly one block,
    /// so results do not depend on scheduling.
    func parallelBlocks(_ count: Int, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threads, count))
        if parts == 1 { return body(0..<count) }
        kernels.parallel(parts) { p in
            body(count * p / parts..<count * (p + 1) / parts)
        }
    }
}
