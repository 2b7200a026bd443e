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
    var clamped = Lanes()
    for i in 0..<8 { clamped[i] = min(max(v[i], low), high) }
    return roundToInteger(clamped)
}

// Lane loops over Swift.min/max compile to minps/maxps; the standard library's pointwiseMin,
// pointwiseMax, min() and max() on SIMD are NaN-aware calls that do not vectorise. (NaN never
// reaches them: groups are checked for non-finite values first.)
@inline(__always) func lanewiseMin(_ a: Lanes, _ b: Lanes) -> Lanes {
    var r = Lanes()
    for i in 0..<8 { r[i] = min(a[i], b[i]) }
    return r
}

@inline(__always) func lanewiseMax(_ a: Lanes, _ b: Lanes) -> Lanes {
    var r = Lanes()
    for i in 0..<8 { r[i] = max(a[i], b[i]) }
    return r
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

/// The smallest positive f16 (subnormal 2^-24): the scale of groups too small for any other.
let smallestHalf: Float = 0x1p-24

/// Which lanes of a group are data. Padding of a ragged last group weighs 0 in every sum.
protocol GroupMask {
    var count: Float { get }
    func weight(_ chunk: Int) -> Lanes
}

struct FullGroup: GroupMask {
    let count: Float
    @inline(__always) func weight(_ chunk: Int) -> Lanes { Lanes(repeating: 1) }
}

struct PartialGroup: GroupMask {
    let valid: Int
    var count: Float { Float(valid) }
    @inline(__always) func weight(_ chunk: Int) -> Lanes {
        let index = Lanes(0, 1, 2, 3, 4, 5, 6, 7) + Float(chunk * 8)
        return Lanes(repeating: 0).replacing(with: 1, where: index .< Float(valid))
    }
}

/// Candidate grids, measured on a [6144, 1152] normal matrix (Formats/quantization.md): more
/// points buy under 0.1 dB at several times the cost. q8: the largest |x| maps to t in
/// [126, 127.5]; q4: the group's range maps onto t in [14.5, 15.75] steps (below 15 widens the
/// steps, above 15 clips the ends). A candidate only proposes integers; least squares then
/// fits the scale (and minimum) to them.
let q8Targets: [Float] = (0..<4).map { 126 + 0.5 * Float($0) }
let q4Targets: [Float] = (0..<6).map { 14.5 + 0.25 * Float($0) }
let q4RefinementRounds = 3

/// One q8 group: chooses q in [-127, 127] (written to `q` as floats) and returns the f16-exact
/// scale, or nil when the scale does not fit in f16. `x` has `chunks * 8` values; padding is 0,
/// which quantizes to 0 and adds nothing to any sum, so q8 needs no mask.
@inline(__always)
func quantizeQ8Group(
    _ x: UnsafePointer<Float>, chunks: Int, absMax: Float, search: Bool,
    q: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
) -> Float? {
    guard absMax > 0 else {
        for c in 0..<chunks { store(Lanes(), q, c) }
        return 0
    }
    // Round to nearest: the baseline every candidate must beat.
    var best = max(roundedToHalf(absMax / 127), smallestHalf)
    guard best.isFinite else { return nil }
    var bestError = requantizeQ8(x, chunks: chunks, scale: best, into: q)
    guard search else { return best }

    var current = q, spare = scratch
    for target in q8Targets {
        let inverse = target / absMax
        var xq = Lanes(), qq = Lanes()
        for c in 0..<chunks {
            let v = load(x, c)
            let k = quantize(v * inverse, -127, 127)
            store(k, spare, c)
            xq += v * k
            qq += k * k
        }
        let scale = roundedToHalf(xq.sum() / qq.sum())
        guard scale > 0, scale.isFinite else { continue }
        var error = Lanes()
        for c in 0..<chunks {
            let d = load(x, c) - Reconstruction.q8(scale: scale, q: load(spare, c))
            error += d * d
        }
        let total = error.sum()
        if total < bestError {
            bestError = total
            best = scale
            swap(&current, &spare)
        }
    }
    // For the chosen scale the nearest integers are optimal; keep them if rounding the fitted
    // scale to f16 left the candidate's integers off by one somewhere.
    let refined = requantizeQ8(x, chunks: chunks, scale: best, into: spare)
    if refined < bestError { swap(&current, &spare) }
    if current != q { q.update(from: current, count: chunks * 8) }
    return best
}

/// q = nearest integer to x / scale (computed as x * (1 / scale)); returns the squared error.
@inline(__always)
func requantizeQ8(_ x: UnsafePointer<Float>, chunks: Int, scale: Float, into q: UnsafeMutablePointer<Float>) -> Float {
    let inverse = 1 / scale
    var error = Lanes()
    for c in 0..<chunks {
        let v = load(x, c)
        let k = quantize(v * inverse, -127, 127)
        store(k, q, c)
        let d = v - Reconstruction.q8(scale: scale, q: k)
        error += d * d
    }
    return error.sum()
}

/// Sums over one assignment of integers k: what least squares and the error formula need.
struct Moments {
    var k: Double
    var kk: Double
    var xk: Double
}

/// One q4 group: chooses q in [0, 15] (into `q`) and returns the f16-exact scale and minimum,
/// or nil when they do not fit in f16. `low`/`high` are the group's extremes over data lanes;
/// padded lanes must hold a data value (the caller repeats one) and weigh 0.
///
/// Candidates are scored without storing their integers: one pass gathers the sums that least
/// squares needs, and the same sums give the squared error of the fitted (f16-rounded) scale
/// and minimum in closed form. (At q4's error level, ~1e-2 of the signal's energy, f32 sums
/// leave that formula accurate to ~1e-4; q8's error is 100x smaller, so q8 measures directly.)
/// The winner's integers are recomputed at the end as the nearest ones for its scale and
/// minimum, and kept only if their directly measured error beats round-to-nearest's.
@inline(__always)
func quantizeQ4Group<Mask: GroupMask>(
    _ x: UnsafePointer<Float>, chunks: Int, mask: Mask, low: Float, high: Float, search: Bool,
    q: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
) -> (scale: Float, minimum: Float)? {
    let minimum = roundedToHalf(low)
    guard minimum.isFinite, roundedToHalf(high).isFinite else { return nil }
    guard high > low else {
        for c in 0..<chunks { store(Lanes(), q, c) }
        return (0, minimum)
    }
    let nearest = (scale: max(roundedToHalf((high - low) / 15), smallestHalf), minimum: minimum)
    guard nearest.scale.isFinite else { return nil }
    let nearestError = requantizeQ4(x, chunks: chunks, mask: mask, scale: nearest.scale, minimum: nearest.minimum, into: q)
    guard search else { return nearest }

    var sumX = Lanes(), sumXX = Lanes()
    for c in 0..<chunks {
        let wx = mask.weight(c) * load(x, c)
        sumX += wx
        sumXX += wx * load(x, c)
    }
    let n = Double(mask.count), sx = Double(sumX.sum()), sxx = Double(sumXX.sum())

    @inline(__always) func moments(_ inverse: Float, _ offset: Float) -> Moments {
        var sk = Lanes(), skk = Lanes(), sxk = Lanes()
        for c in 0..<chunks {
            let v = load(x, c)
            let k = quantize((v - offset) * inverse, 0, 15)
            let wk = mask.weight(c) * k
            sk += wk
            skk += wk * k
            sxk += wk * v
        }
        return Moments(k: Double(sk.sum()), kk: Double(skk.sum()), xk: Double(sxk.sum()))
    }
    // sum w (x - s k - b)^2, expanded.
    @inline(__always) func error(_ m: Moments, _ p: (scale: Float, minimum: Float)) -> Double {
        let s = Double(p.scale), b = Double(p.minimum)
        return sxx - 2 * s * m.xk - 2 * b * sx + s * s * m.kk + 2 * s * b * m.k + n * b * b
    }
    // Least squares for (scale, minimum) given the integers, rounded to f16.
    @inline(__always) func fit(_ m: Moments) -> (scale: Float, minimum: Float)? {
        let determinant = n * m.kk - m.k * m.k
        guard determinant > 0 else { return nil }
        let scale = (n * m.xk - m.k * sx) / determinant
        let rounded = (scale: roundedToHalf(Float(scale)), minimum: roundedToHalf(Float((sx - scale * m.k) / n)))
        guard rounded.scale > 0, rounded.scale.isFinite, rounded.minimum.isFinite else { return nil }
        return rounded
    }

    var best = nearest
    var bestError = error(moments(1 / nearest.scale, nearest.minimum), nearest)
    for target in q4Targets {
        let m = moments(target / (high - low), low)
        guard let candidate = fit(m) else { continue }
        let e = error(m, candidate)
        if e < bestError {
            bestError = e
            best = candidate
        }
    }
    // Alternate: nearest integers for the current (scale, min), then refit (scale, min).
    for _ in 0..<q4RefinementRounds {
        let m = moments(1 / best.scale, best.minimum)
        guard let candidate = fit(m) else { break }
        let e = error(m, candidate)
        guard e < bestError else { break }
        bestError = e
        best = candidate
    }
    guard best != nearest else { return nearest }
    let measured = requantizeQ4(x, chunks: chunks, mask: mask, scale: best.scale, minimum: best.minimum, into: scratch)
    guard measured < nearestError else { return nearest }
    q.update(from: scratch, count: chunks * 8)
    return best
}

/// q = nearest integer to (x - minimum) / scale; returns the weighted squared error.
@inline(__always)
func requantizeQ4<Mask: GroupMask>(
    _ x: UnsafePointer<Float>, chunks: Int, mask: Mask, scale: Float, minimum: Float, into q: UnsafeMutablePointer<Float>
) -> Float {
    let inverse = 1 / scale
    var error = Lanes()
    for c in 0..<chunks {
        let v = load(x, c)
        let k = quantize((v - minimum) * inverse, 0, 15)
        store(k, q, c)
        let d = v - Reconstruction.q4(scale: scale, q: k, minimum: minimum)
        error += mask.weight(c) * d * d
    }
    return error.sum()
}
