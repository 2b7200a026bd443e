import CMoltKernels
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
/// Channels are independent, so disjoint channel ranges can run concurrently. The kernel
/// (CMoltKernels) computes a channel's N exponentials at once.
func selectiveScan(
    steps: Int, u: UnsafePointer<Float>, delta: UnsafePointer<Float>, bc: UnsafePointer<Float>, bcStride: Int,
    weights w: MambaWeights, state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
    channels: Range<Int>
) {
    molt_selective_scan(
        Int64(steps), u, delta, Int64(w.inner), bc, Int64(bcStride), Int64(w.stateSize), w.a, w.d, state, y,
        Int64(channels.lowerBound), Int64(channels.upperBound), molt_best_path())
}

/// delta = softplus(delta + bias), elementwise over one position's `count` channels.
func softplusDelta(_ delta: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, count: Int) {
    molt_softplus(delta, bias, Int64(count), molt_best_path())
}

/// y *= silu(z), elementwise over `count` values.
func gateWithSiLU(_ y: UnsafeMutablePointer<Float>, by z: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] *= silu(z[i]) }
}
