/// Conversions between floating-point dtypes, with torch's rounding (round to nearest even).
public enum FloatBits {
    @inline(__always) public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always) public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounding = 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    @inline(__always) public static func f16ToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    @inline(__always) public static func floatToF16(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }
}

extension Tensor {
    /// The values widened (or narrowed, for f64) to Float, in row-major order.
    public func floatValues() throws -> [Float] {
        let n = count
        return try withContiguousBytes { raw in
            try [Float](unsafeUninitializedCapacity: n) { out, initialized in
                try Tensor.widen(raw, dtype: dtype, into: out)
                initialized = n
            }
        }
    }

    /// Runs `body` over the values as Float: in place for an aligned contiguous f32 tensor,
    /// otherwise over a widened copy.
    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        if dtype == .f32, isContiguous {
            let start = offset * 4
            let raw = UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + byteCount])
            if let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                return try withExtendedLifetime(storage) {
                    try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: count))
                }
            }
        }
        let values = try floatValues()
        return try values.withUnsafeBufferPointer(body)
    }

    /// The same values stored as `target`. Only floating-point dtypes convert; anything else
    /// returns `self` unchanged when `target` is its own dtype and throws otherwise.
    public func converted(to target: DType) throws -> Tensor {
        if target == dtype { return contiguous() }
        guard dtype.isFloatingPoint, target.isFloatingPoint else {
            throw MoltError.unsupported("cannot convert \(dtype.rawValue) to \(target.rawValue)")
        }
        let n = count
        let floats: [Float]
        if dtype == .f64 && target == .f64 { floats = [] } else { floats = try floatValues() }
        let storage = try Storage(byteCount: n * target.size) { out in
            switch target {
            case .f32:
                floats.withUnsafeBytes { out.copyMemory(from: $0) }
            case .bf16:
                let dst = out.bindMemory(to: UInt16.self)
                for i in 0..<n { dst[i] = FloatBits.floatToBF16(floats[i]) }
            case .f16:
                let dst = out.bindMemory(to: UInt16.self)
                for i in 0..<n { dst[i] = FloatBits.floatToF16(floats[i]) }
            case .f64:
                // Widen from the source directly so f64 -> f64 never passes through Float.
                let dst = out.bindMemory(to: Double.self)
                try withContiguousBytes { raw in
                    for i in 0..<n { dst[i] = try Double(Tensor.element(raw, i, dtype: dtype)) }
                }
            default:
                throw MoltError.unsupported("cannot convert to \(target.rawValue)")
            }
        }
        return try Tensor(storage: storage, dtype: target, shape: shape)
    }

    /// `out.count` elements of `dtype` at `raw` (any alignment) as f32: the one widening every
    /// reader and writer uses. Floats widen exactly; integers convert exactly where Float allows.
    public static func widen(_ raw: UnsafeRawBufferPointer, dtype: DType, into out: UnsafeMutableBufferPointer<Float>) throws {
        let n = out.count
        switch dtype {
        case .f32:
            if n > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: n * 4) }
        case .bf16:
            for i in 0..<n { out[i] = FloatBits.bf16ToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        case .f16:
            for i in 0..<n { out[i] = FloatBits.f16ToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        case .f64:
            for i in 0..<n { out[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        default:
            for i in 0..<n { out[i] = try element(raw, i, dtype: dtype) }
        }
    }

    /// One element as Float; integer dtypes are converted exactly where Float allows.
    static func element(_ raw: UnsafeRawBufferPointer, _ i: Int, dtype: DType) throws -> Float {
        switch dtype {
        case .f32: raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
        case .bf16: FloatBits.bf16ToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .f16: FloatBits.f16ToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .f64: Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
        case .i64: Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        case .i32: Float(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        case .i16: Float(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
        case .i8: Float(raw.load(fromByteOffset: i, as: Int8.self))
        case .u8, .bool: Float(raw.load(fromByteOffset: i, as: UInt8.self))
        }
    }
}
