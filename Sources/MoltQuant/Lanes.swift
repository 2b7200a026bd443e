import MoltCore

typealias Lanes = SIMD8<Float>

@inline(__always) func load(_ p: UnsafePointer<Float>, _ chunk: Int) -> Lanes {
    UnsafeRawPointer(p + chunk &* 8).loadUnaligned(as: Lanes.self)
}

@inline(__always) func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ chunk: Int) {
    UnsafeMutableRawPointer(p + chunk &* 8).storeBytes(of: v, as: Lanes.self)
}

/// Round half to even for |v| < 2^22: adding 1.5 * 2^23 leaves no fraction bits, and the FPU
/// rounds the addition to nearest even. Plain adds vectorise where `rounded()` may not.
@inline(__always) func roundToInteger(_ v: Lanes) -> Lanes {
    (v + 12_582_912) - 12_582_912
}

/// Small whole floats as integers, two's complement in the low bits: after adding 1.5 * 2^23
/// the fraction field holds the value. Vectorises where Int32(_:rounding:) makes calls.
@inline(__always) func integerBits(_ v: Lanes) -> SIMD8<Int32> {
    unsafeBitCast(v + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000
}

/// Clamping first keeps the rounding trick in range (and turns infinities into the bounds);
/// since the bounds are integers, clamp-then-round equals round-then-clamp.
@inline(__always) func quantize(_ v: Lanes, _ low: Float, _ high: Float) -> Lanes {
    roundToInteger(lanewiseMin(lanewiseMax(v, Lanes(repeating: low)), Lanes(repeating: high)))
}

// Compare-and-select compiles to vector compares and blends wherever it is inlined; the
// standard library's pointwiseMin/pointwiseMax and min()/max() on SIMD are NaN-aware calls,
// and lane loops over Swift.min/max only vectorise in simple contexts. (NaN never reaches
// these: groups are checked for non-finite values first.)
@inline(__always) func lanewiseMin(_ a: Lanes, _ b: Lanes) -> Lanes {
    a.replacing(with: b, where: b .< a)
}

@inline(__always) func lanewiseMax(_ a: Lanes, _ b: Lanes) -> Lanes {
    a.replacing(with: b, where: b .> a)
}

@inline(__always) func smallest(_ a: Lanes) -> Float {
    var r = a[0]
    for i in 1..<8 { r = min(r, a[i]) }
    return r
}

@inline(__always) func largest(_ a: Lanes) -> Float {
    var r = a[0]
    for i in 1..<8 { r = max(r, a[i]) }
    return r
}

/// `x` rounded to the nearest f16 (ties to even), back in f32: what a stored scale or minimum
/// will be. Equal to a round trip through Float16, without the library calls that cost a
/// quarter of the search's time on x86 without F16C.
@inline(__always) func roundedToHalf(_ x: Float) -> Float {
    if abs(x) < 0x1p-14 {
        // Subnormal f16s are the multiples of 2^-24; f32s in [0.5, 1) are too.
        return (x + 0.75) - 0.75
    }
    // Keep 10 of the 23 fraction bits, rounding the other 13 to nearest even.
    let bits = x.bitPattern
    let rounded = Float(bitPattern: (bits &+ 0xFFF &+ ((bits >> 13) & 1)) & ~0x1FFF)
    return abs(rounded) > 65504 ? (x < 0 ? -.infinity : .infinity) : rounded
}

/// Lane-wise `roundedToHalf`, without branches. Lanes beyond f16's range come out as +infinity
/// whatever their sign: callers only test them for being finite.
@inline(__always) func roundedToHalf(_ x: Lanes) -> Lanes {
    let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
    let normal = unsafeBitCast((bits &+ 0xFFF &+ ((bits &>> 13) & 1)) & ~0x1FFF, to: Lanes.self)
    let subnormal = (x + 0.75) - 0.75
    return normal
        .replacing(with: subnormal, where: (x .< 0x1p-14) .& (x .> -0x1p-14))
        .replacing(with: .infinity, where: (normal .> 65504) .| (normal .< -65504))
}

/// Lanes holding neither NaN nor an infinity.
@inline(__always) func finiteLanes(_ x: Lanes) -> SIMDMask<SIMD8<Int32>> {
    (x .< .infinity) .& (x .> -.infinity)
}

/// The smallest positive f16 (subnormal 2^-24): the scale of groups too small for any other.
let smallestHalf: Float = 0x1p-24
