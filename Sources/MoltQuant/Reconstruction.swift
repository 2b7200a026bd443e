import MoltCore

/// The one definition of how stored values become weights. Kernels mirror it, and so does the
/// quantizer (CMoltQuant) when it scores candidates and measures the error of the stored bytes,
/// so the error it reports is the error kernels see.
///
/// Scales and minimums are f16 and |q| <= 127, so `scale * q` is exact in f32 (11 + 7 bits of
/// significand): a fused multiply-add and a multiply then add give the same f32.
public enum Reconstruction {
    @inline(__always) public static func q8<V: SIMD>(scale: V.Scalar, q: V) -> V where V.Scalar == Float {
        scale * q
    }

    @inline(__always) public static func q4<V: SIMD>(scale: V.Scalar, q: V, minimum: V.Scalar) -> V where V.Scalar == Float {
        scale * q + minimum
    }

    /// Lane-wise scales and minimums: a different group in each lane.
    @inline(__always) public static func q4<V: SIMD>(scale: V, q: V, minimum: V) -> V where V.Scalar == Float {
        scale * q + minimum
    }

    @inline(__always) static func half(_ row: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        FloatBits.f16ToFloat(row.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// Dequantizes one stored row into `out`, which holds at least `groups * groupSize` floats
    /// (the padded columns come out as scale * 0 (+ min): not data).
    public static func dequantizeRow(_ row: UnsafeRawBufferPointer, layout: QuantLayout, into out: UnsafeMutablePointer<Float>) {
        guard let base = row.baseAddress else { return }
        let g = layout.groupSize
        for group in 0..<layout.groups {
            let scale = half(row, layout.scalesOffset + 2 * group)
            let dst = out + group * g
            switch layout.type {
            case .q8:
                let src = base + group * g
                for i in stride(from: 0, to: g, by: 8) {
                    let q = SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: i, as: SIMD8<Int8>.self)))
                    UnsafeMutableRawPointer(dst + i).storeBytes(of: q8(scale: scale, q: q), as: SIMD8<Float>.self)
                }
            case .q4:
                let minimum = half(row, layout.minimumsOffset + 2 * group)
                let src = base + group * g / 2
                let half = g / 2
                for j in stride(from: 0, to: half, by: 8) {
                    let packed = SIMD8<Int32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: j, as: SIMD8<UInt8>.self))
                    let low = SIMD8<Float>(packed & 15), high = SIMD8<Float>(packed &>> 4)
                    UnsafeMutableRawPointer(dst + j).storeBytes(of: q4(scale: scale, q: low, minimum: minimum), as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(dst + half + j).storeBytes(of: q4(scale: scale, q: high, minimum: minimum), as: SIMD8<Float>.self)
                }
            }
        }
    }

    /// The whole matrix as row-major f32 [rows, columns].
    public static func dequantize(_ matrix: QuantizedMatrix) -> [Float] {
        let layout = matrix.layout
        let padded = layout.groups * layout.groupSize
        var rowBuffer = [Float](repeating: 0, count: padded)
        return [Float](unsafeUninitializedCapacity: layout.rows * layout.columns) { out, initialized in
            rowBuffer.withUnsafeMutableBufferPointer { scratch in
                for r in 0..<layout.rows {
                    dequantizeRow(matrix.row(r), layout: layout, into: scratch.baseAddress!)
                    (out.baseAddress! + r * layout.columns).update(from: scratch.baseAddress!, count: layout.columns)
                }
            }
            initialized = layout.rows * layout.columns
        }
    }
}
