/// Candidates: the group's range maps onto t in [14.5, 15.75] steps (below 15 widens the steps,
/// above 15 clips the ends), then alternating refinement. Measured on a [6144, 1152] normal
/// matrix (Formats/quantization.md): 17 points buy 0.07 dB at several times the cost.
let q4Targets: [Float] = (0..<6).map { 14.5 + 0.25 * Float($0) }
let q4RefinementRounds = 3

/// q4 works on tiles of 8 groups, one per lane: element j of the 8 groups is one vector. Every
/// per-candidate step (least squares, f16 rounding, comparing) is then lane-wise too, where
/// one group at a time would spend more on that scalar work than on the values.
protocol TileMask {
    /// Data values per lane.
    var count: Lanes { get }
    /// 1 for data, 0 for the padding of a ragged last group, for element `j` of each lane.
    func weight(_ j: Int) -> Lanes
}

struct FullTile: TileMask {
    let count: Lanes
    @inline(__always) func weight(_ j: Int) -> Lanes { Lanes(repeating: 1) }
}

struct PartialTile: TileMask {
    let count: Lanes
    let weights: UnsafePointer<Float>
    @inline(__always) func weight(_ j: Int) -> Lanes { load(weights, j) }
}

/// Sums over one assignment of integers k, per lane: what least squares and the error
/// formula need.
struct TileMoments {
    var k = Lanes(), kk = Lanes(), xk = Lanes()
}

/// Quantizes a tile: `x` holds `g` vectors (element j of each lane's group; padding repeats a
/// data value and weighs 0). Writes the chosen integers to `q` (same layout) and returns the
/// f16-exact scales and minimums, or the lanes whose scale or minimum do not fit in f16.
///
/// Candidates are scored without storing their integers: one pass gathers the sums, and the
/// same sums give the squared error of the fitted, f16-rounded (scale, min) in closed form.
/// Values are centred on the group minimum first, which keeps that formula's cancellation
/// small (q4's error is ~1e-3 of the centred energy; f32 sums are good to ~1e-6). The winner's
/// integers are then recomputed as the nearest ones for its scale and minimum, and kept only
/// where their directly measured error beats round-to-nearest's.
@inline(__always)
func quantizeQ4Tile<Mask: TileMask>(
    _ x: UnsafePointer<Float>, g: Int, mask: Mask, search: Bool,
    q: UnsafeMutablePointer<Float>, spare: UnsafeMutablePointer<Float>
) -> Result<(scale: Lanes, minimum: Lanes), TileRangeError> {
    var low = load(x, 0), high = low
    for j in 1..<g {
        low = lanewiseMin(low, load(x, j))
        high = lanewiseMax(high, load(x, j))
    }
    let minimum = roundedToHalf(low)
    let constant = high .== low
    let range = (high - low).replacing(with: 1, where: constant)
    let nearestScale = lanewiseMax(roundedToHalf(range / 15), Lanes(repeating: smallestHalf))
    let representable = finiteLanes(minimum) .& finiteLanes(roundedToHalf(high)) .& finiteLanes(nearestScale)
    guard all(representable) else { return .failure(TileRangeError(lanes: .!representable)) }

    let nearestError = requantizeQ4Tile(x, g: g, mask: mask, scale: nearestScale, minimum: minimum, into: q)
    var best = (scale: nearestScale, minimum: minimum)
    if search {
        var sumX = Lanes(), sumXX = Lanes()
        for j in 0..<g {
            let wx = mask.weight(j) * (load(x, j) - low)
            sumX += wx
            sumXX += wx * (load(x, j) - low)
        }
        let n = mask.count

        @inline(__always) func moments(_ inverse: Lanes, _ offset: Lanes) -> TileMoments {
            var m = TileMoments()
            for j in 0..<g {
                let v = load(x, j) - low
                let k = quantize((v - offset) * inverse, 0, 15)
                let wk = mask.weight(j) * k
                m.k += wk
                m.kk += wk * k
                m.xk += wk * v
            }
            return m
        }
        // Least squares for (scale, min) given the integers, rounded to f16, and the error of
        // the rounded pair: sum w (x - s k - b)^2, expanded, on centred values.
        @inline(__always) func fit(_ m: TileMoments) -> (scale: Lanes, minimum: Lanes, centred: Lanes, error: Lanes, ok: SIMDMask<SIMD8<Int32>>) {
            let determinant = n * m.kk - m.k * m.k
            let solvable = determinant .> 0
            let scale = (n * m.xk - m.k * sumX) / determinant.replacing(with: 1, where: .!solvable)
            let s = roundedToHalf(scale)
            let b = roundedToHalf((sumX - scale * m.k) / n + low)
            let c = b - low
            let linear: Lanes = 2 * (s * m.xk + c * sumX)
            let quadratic: Lanes = s * (s * m.kk + 2 * c * m.k) + n * c * c
            let error: Lanes = sumXX - linear + quadratic
            return (s, b, c, error, solvable .& (s .> 0) .& finiteLanes(s) .& finiteLanes(b))
        }

        var bestError = nearestError
        var bestCentred = minimum - low
        for target in q4Targets {
            let candidate = fit(moments(target / range, Lanes()))
            let better = candidate.ok .& (candidate.error .< bestError)
            best.scale.replace(with: candidate.scale, where: better)
            best.minimum.replace(with: candidate.minimum, where: better)
            bestCentred.replace(with: candidate.centred, where: better)
            bestError.replace(with: candidate.error, where: better)
        }
        // Alternate: nearest integers for the current (scale, min), then refit (scale, min).
        for _ in 0..<q4RefinementRounds {
            let candidate = fit(moments(1 / best.scale, bestCentred))
            let better = candidate.ok .& (candidate.error .< bestError)
            guard any(better) else { break }
            best.scale.replace(with: candidate.scale, where: better)
            best.minimum.replace(with: candidate.minimum, where: better)
            bestCentred.replace(with: candidate.centred, where: better)
            bestError.replace(with: candidate.error, where: better)
        }
        let measured = requantizeQ4Tile(x, g: g, mask: mask, scale: best.scale, minimum: best.minimum, into: spare)
        let keep = measured .< nearestError
        best.scale.replace(with: nearestScale, where: .!keep)
        best.minimum.replace(with: minimum, where: .!keep)
        for j in 0..<g { store(load(q, j).replacing(with: load(spare, j), where: keep), q, j) }
    }
    // A constant group is its minimum: scale 0, q 0.
    if any(constant) {
        best.scale.replace(with: 0, where: constant)
        best.minimum.replace(with: minimum, where: constant)
        for j in 0..<g { store(load(q, j).replacing(with: 0, where: constant), q, j) }
    }
    return .success(best)
}

/// Which lanes of a tile have values beyond what f16 scales and minimums represent.
struct TileRangeError: Error {
    let lanes: SIMDMask<SIMD8<Int32>>
}

/// q = nearest integer to (x - minimum) / scale, per lane; returns each lane's weighted
/// squared error, measured through `Reconstruction`.
@inline(__always)
func requantizeQ4Tile<Mask: TileMask>(
    _ x: UnsafePointer<Float>, g: Int, mask: Mask, scale: Lanes, minimum: Lanes, into q: UnsafeMutablePointer<Float>
) -> Lanes {
    let inverse = 1 / scale
    var error = Lanes()
    for j in 0..<g {
        let v = load(x, j)
        let k = quantize((v - minimum) * inverse, 0, 15)
        store(k, q, j)
        let d = v - Reconstruction.q4(scale: scale, q: k, minimum: minimum)
        error += mask.weight(j) * d * d
    }
    return error
}
