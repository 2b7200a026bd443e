#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The time-dependent half of the Mamba mixer, shared by prefill (many positions) and decode
// (one). The projections around it are plain matrix products, done by the callers.

/// u[t, c] = silu(b[c] + sum_k w[c, k] * x[t - K + 1 + k, c]) for t in 0..<steps and c in
/// `channels`, where `history` is [K-1 + steps, Di]: the K-1 inputs before position 0 (zeros at
/// the start of a sequence), then the new ones. Row j of `history` is input position j - (K-1).
func causalConvSiLU(
    history: UnsafePointer<Float>, steps: Int, weights w: MambaWeights, into u: UnsafeMutablePointer<Float>,
    channels: Range<Int>
) {
    let di = w.inner, k = w.kernel
    for t in 0..<steps {
        for c in channels {
            let taps = w.convWeight.row(c)
            var sum = w.convBias[c]
            for j in 0..<k { sum += taps[j] * history[(t + j) * di + c] }
            u[t * di + c] = silu(sum)
        }
    }
}

/// The selective scan over `steps` positions for the channels in `channels`, carrying each
/// channel's state row h[c, 0..<N] from one position to the next:
///     h = exp(delta * A) * h + delta * B * u,    y = h · C + D * u
/// `u`, `delta` and `y` are [steps, Di]; B of position t starts at bc + t * bcStride, C N after.
/// Channels are independent, so disjoint channel ranges can run concurrently.
func selectiveScan(
    steps: Int, u: UnsafePointer<Float>, delta: UnsafePointer<Float>, bc: UnsafePointer<Float>, bcStride: Int,
    weights w: MambaWeights, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
    channels: Range<Int>
) {
    let di = w.inner, n = w.stateSize
    for t in 0..<steps {
        let b = bc + t * bcStride, c = b + n
        for ch in channels {
            let dt = delta[t * di + ch], x = u[t * di + ch]
            let h = state + ch * n, a = w.a + ch * n
            let dtx = dt * x
            // Four state elements at a time, then a zero-padded partial group if N is not a
            // multiple of 4. Constant lanes in the main loop let it compile without branches.
            var out = SIMD4<Float>()
            @inline(__always) func update(_ j: Int, lanes: Int) {
                let next = exp4(dt * load(a + j, lanes)) * load(h + j, lanes) + dtx * load(b + j, lanes)
                store(next, h + j, lanes)
                out += next * load(c + j, lanes)
            }
            var j = 0
            while j + 4 <= n {
                update(j, lanes: 4)
                j += 4
            }
            if j < n { update(j, lanes: n - j) }
            y[t * di + ch] = out.sum() + w.d[ch] * x
        }
    }
}

/// Up to four floats from `p`, zeros in the lanes past `lanes`.
@inline(__always) private func load(_ p: UnsafePointer<Float>, _ lanes: Int) -> SIMD4<Float> {
    if lanes == 4 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }
    var v = SIMD4<Float>()
    for i in 0..<lanes { v[i] = p[i] }
    return v
}

@inline(__always) private func store(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
    if lanes == 4 { return UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self) }
    for i in 0..<lanes { p[i] = v[i] }
}

/// delta = softplus(delta + bias), elementwise over one position's `count` channels.
func softplusDelta(_ delta: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { delta[i] = softplus(delta[i] + bias[i]) }
}

/// y *= silu(z), elementwise over `count` values.
func gateWithSiLU(_ y: UnsafeMutablePointer<Float>, by z: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] *= silu(z[i]) }
}
