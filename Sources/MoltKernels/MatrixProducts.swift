import CMoltKernels
import MoltCore

extension WeightMatrix {
    /// y[rows] = W x, x holding `columns` floats; with `count` > 1, that many vectors at once,
    /// x [count, columns] and y [count, rows] row-major. Each y[r] is computed by one thread in
    /// an order fixed by the path and precision: neither the thread count nor the other vectors
    /// change the result, and several vectors share one pass over the weights.
    /// Traps if `path` is not supported on this CPU.
    public func matvec(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int = 1, threads: KernelThreads = .shared,
        path: KernelPath = .best, activations: ActivationPrecision = .float32
    ) {
        withExtendedLifetime(owner) {
            withUnsafePointer(to: description) { w in
                check(molt_matvec(threads.pool, w, x, Int64(count), y, path.c, activations.c), path)
            }
        }
    }

    /// Y[t, rows] = X[t, columns] W^T, row-major (a linear layer over t positions). With f32
    /// activations every element is the sequential fused multiply-add over the columns of X's
    /// row and W's dequantized row. With `.int8` and q8/q4 weights, X is rounded per block of 32
    /// to int8 and each block's integer dot product is exact, combined in f32 in a fixed order
    /// (Formats/kernels.md); `.int16` is f32 here. Either way the same bits on every path,
    /// thread count and t.
    public func matmul(
        _ x: UnsafePointer<Float>, count t: Int, _ y: UnsafeMutablePointer<Float>, threads: KernelThreads = .shared,
        path: KernelPath = .best, activations: ActivationPrecision = .float32
    ) {
        withExtendedLifetime(owner) {
            withUnsafePointer(to: description) { w in
                check(molt_matmul(threads.pool, w, x, Int64(t), y, path.c, activations.c), path)
            }
        }
    }

    /// Row `r` as `columns` f32 values into `out`, exactly as the products dequantize it: for
    /// looking up embedding rows in a packed matrix.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row \(r) of a [\(rows), \(columns)] matrix")
        withExtendedLifetime(owner) {
            withUnsafePointer(to: description) { w in
                if molt_dequantize_row(w, Int64(r), out) != 0 { fatalError("out of memory dequantizing a row") }
            }
        }
    }

    public func matvec(
        _ x: [Float], threads: KernelThreads = .shared, path: KernelPath = .best, activations: ActivationPrecision = .float32
    ) -> [Float] {
        precondition(x.count == columns, "matvec of a [\(rows), \(columns)] matrix with \(x.count) values")
        return [Float](unsafeUninitializedCapacity: rows) { y, initialized in
            if let out = y.baseAddress { matvec(x, out, threads: threads, path: path, activations: activations) }
            initialized = rows
        }
    }

    public func matmul(
        _ x: [Float], count t: Int, threads: KernelThreads = .shared, path: KernelPath = .best,
        activations: ActivationPrecision = .float32
    ) -> [Float] {
        precondition(x.count == t * columns, "matmul of a [\(rows), \(columns)] matrix with \(x.count) values for \(t) rows")
        return [Float](unsafeUninitializedCapacity: t * rows) { y, initialized in
            if let out = y.baseAddress { matmul(x, count: t, out, threads: threads, path: path, activations: activations) }
            initialized = t * rows
        }
    }

    private func check(_ status: Int32, _ path: KernelPath) {
        switch status {
        case 0: return
        case -1: preconditionFailure("kernel path \(path) is not supported on this CPU")
        default: fatalError("out of memory in a \(element.rawValue) [\(rows), \(columns)] kernel")
        }
    }
}
