import MoltCore

/// Element-wise conversions between the plain float dtypes, a chunk at a time.
enum ElementConversion {
    /// Widens `count` elements of `dtype` at `source` to f32.
    static func widen(_ source: UnsafeRawPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<Float>) throws {
        guard dtype.isFloatingPoint else { throw MoltError.unsupported("cannot store \(dtype.rawValue) values as floats") }
        try Tensor.widen(
            UnsafeRawBufferPointer(start: source, count: count * dtype.size), dtype: dtype,
            into: UnsafeMutableBufferPointer(start: out, count: count))
    }

    /// Narrows (or copies) `count` f32 values to `target`, little-endian.
    static func narrow(_ values: UnsafePointer<Float>, count: Int, to target: DType, into out: UnsafeMutableRawPointer) {
        switch target {
        case .bf16: for i in 0..<count { out.storeBytes(of: FloatBits.floatToBF16(values[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .f16: for i in 0..<count { out.storeBytes(of: FloatBits.floatToF16(values[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        default: out.copyMemory(from: values, byteCount: count * 4)
        }
    }
}
