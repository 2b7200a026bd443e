import COpenBLAS

/// XᵀX of f32 input rows, summed in f64 (Formats/calibration.md).
public enum GramMatrix {
    /// Rows per f32 product before it is added to the f64 total.
    public static let chunkRows = 512

    /// Adds XᵀX of `count` rows (`stride` floats apart) to `total` (row-major [columns,
    /// columns]): an f32 `ssyrk` (upper triangle) per chunk of at most `chunkRows` rows, added
    /// to the f64 total on both sides of the diagonal. `scratch` grows to `columns²` floats and
    /// can be passed again, so that repeated calls do not allocate.
    public static func add(
        rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int, into total: inout [Double], scratch: inout [Float]
    ) {
        if scratch.count < columns * columns { scratch = [Float](repeating: 0, count: columns * columns) }
        scratch.withUnsafeMutableBufferPointer { c in
            total.withUnsafeMutableBufferPointer { total in
                for first in Swift.stride(from: 0, to: count, by: chunkRows) {
                    let n = min(chunkRows, count - first)
                    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(columns), Int32(n), 1, rows + first * stride,
                                Int32(stride), 0, c.baseAddress, Int32(columns))
                    for i in 0..<columns {
                        for j in i..<columns {
                            let value = Double(c[i * columns + j])
                            total[i * columns + j] += value
                            if j != i { total[j * columns + i] += value }
                        }
                    }
                }
            }
        }
    }

    /// The same over rows kept in f16 (`InputStatistics.SecondMoment.rows`, `columns` values
    /// each), widened a chunk at a time, so the sums are those of the f32 rows.
    public static func add(halfRows r: [Float16], columns: Int, into total: inout [Double], scratch: inout [Float]) {
        guard columns > 0 else { return }
        let count = r.count / columns
        var floats = [Float](repeating: 0, count: min(count, chunkRows) * columns)
        for first in Swift.stride(from: 0, to: count, by: chunkRows) {
            let n = min(chunkRows, count - first)
            for i in 0..<n * columns { floats[i] = Float(r[first * columns + i]) }
            floats.withUnsafeBufferPointer {
                add(rows: $0.baseAddress!, count: n, stride: columns, columns: columns, into: &total, scratch: &scratch)
            }
        }
    }
}
