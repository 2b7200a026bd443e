import CMoltKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The Mamba mixer (Formats/model.md): projections around a causal convolution and the
// selective scan, which carry each sequence's state from one position to the next.

extension BlackMambaModel {
    /// The Mamba mixer over `steps` rows: with [x, z] = in_proj(normed),
    /// residual += out_proj(scan(silu(conv(x))) * silu(z)).
    func mamba(_ w: MambaWeights, segments: [Segment], steps t: Int, stepwise: Bool, scratch a: RunState) {
        let h = config.hiddenSize, di = w.inner, k1 = w.kernel - 1, dbcWidth = w.xProj.rows
        matmul(a.normed.base, rows: t, lda: h, w.inProj, into: a.xz.base, ldc: 2 * di, stepwise: stepwise)
        addBias(w.inBias, to: a.xz.base, rows: t, width: 2 * di)

        // The conv sees the K-1 inputs the state kept, then the segment's; it keeps the last K-1.
        for s in segments {
            let state = s.state.mamba[w.slot], n = s.tokens.count
            a.history.base.update(from: state.conv.base, count: k1 * di)
            for r in 0..<n {
                (a.history.base + (k1 + r) * di).update(from: a.xz.base + (s.row + r) * 2 * di, count: di)
            }
            state.conv.base.update(from: a.history.base + n * di, count: k1 * di)
            parallelBlocks(di) { channels in
                causalConvSiLU(
                    history: a.history.base, steps: n, weights: w, into: a.u.base + s.row * di, channels: channels)
            }
        }

        matmul(a.u.base, rows: t, lda: di, w.xProj, into: a.dbc.base, ldc: dbcWidth, stepwise: stepwise)
        // delta's low-rank input is the first R columns of each dbc row.
        matmul(a.dbc.base, rows: t, lda: dbcWidth, w.dtProj, into: a.delta.base, ldc: di, stepwise: stepwise)
        // The element-wise steps split channels, not rows, so a decode step's one row is shared too.
        parallelBlocks(di) { c in
            for r in 0..<t { softplusDelta(a.delta.base + r * di + c.lowerBound, bias: w.dtBias + c.lowerBound, count: c.count) }
        }

        for s in segments {
            let n = s.tokens.count, offset = s.row * di
            parallelBlocks(di) { channels in
                selectiveScan(
                    steps: n, u: a.u.base + offset, delta: a.delta.base + offset, bc: a.dbc.base + s.row * dbcWidth + w.rank,
                    bcStride: dbcWidth, weights: w, state: s.state.mamba[w.slot].ssm.base, into: a.y.base + offset,
                    channels: channels)
            }
        }
        parallelBlocks(di) { c in
            for r in 0..<t {
                gateWithSiLU(a.y.base + r * di + c.lowerBound, by: a.xz.base + r * 2 * di + di + c.lowerBound, count: c.count)
            }
        }

        matmul(a.y.base, rows: t, lda: di, w.outProj, into: a.x.base, ldc: h, accumulate: true, stepwise: stepwise)
        addBias(w.outBias, to: a.x.base, rows: t, width: h)
    }
}

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
