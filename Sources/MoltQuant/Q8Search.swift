import MoltCore

/// Candidates: the largest |x| maps to t in [126, 127.5] (more would clip it). Measured on a
/// [6144, 1152] normal matrix (Formats/quantization.md): 16 points buy 0.07 dB at 2.4x the cost.
let q8Targets: [Float] = (0..<4).map { 126 + 0.5 * Float($0) }

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
