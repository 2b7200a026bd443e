import MoltCore
import MoltKernels

// The Mamba mixer (Formats/model.md, "Mamba mixer"): projections around a causal convolution
// and the selective scan, which carry each sequence's state from one position to the next.

extension ForwardPass {
    /// The Mamba mixer over the pass's rows: with [x, z] = in_proj(normed),
    ///     u = silu(conv(x)),  [dt, B, C] = x_proj(u),  delta = softplus(dt_proj(dt) + dt_bias),
    ///     per channel c:  h = exp(delta A) * h + delta B u,  y = h · C + D u,
    ///     residual += out_proj(y * silu(z)),
    /// with silu(v) = v / (1 + e^-v), softplus(v) = log(1 + e^v) and A = -exp(A_log).
    func mamba(_ w: MambaWeights, layer i: Int) {
        observe(TensorNames.mamba(i, "in_proj.weight"), a.normed)
        matmul(a.normed, w.inProj, into: a.xz)
        addBias(w.inBias, to: a.xz.base, rows: rows, width: a.xz.width)
        for s in segments { convolve(s, w) }

        observe(TensorNames.mamba(i, "x_proj.weight"), a.u)
        matmul(a.u, w.xProj, into: a.dbc)
        // delta's low-rank input is the first R columns of each dbc row.
        observe(TensorNames.mamba(i, "dt_proj.weight"), a.dbc, columns: w.rank)
        matmul(a.dbc, w.dtProj, into: a.delta)
        // The element-wise steps split channels, not rows, so a decode step's one row is shared
        // too; each step reads only its own channels, so one block does all three, one wake-up.
        parallelBlocks(w.inner) { c in
            for r in 0..<rows { ElementwiseKernels.softplus(a.delta[r, c.lowerBound], bias: w.dtBias + c.lowerBound, count: c.count) }
            for s in segments { scan(s, w, channels: c) }
            for r in 0..<rows {
                let y = a.y[r, c.lowerBound]
                ElementwiseKernels.silu(a.z(r) + c.lowerBound, gate: y, into: y, count: c.count)
            }
        }

        observe(TensorNames.mamba(i, "out_proj.weight"), a.y)
        matmul(a.y, w.outProj, into: a.x, accumulate: true)
        addBias(w.outBias, to: a.x.base, rows: rows, width: a.x.width)
    }

    /// u = silu(conv(x)) over one segment's positions. The conv sees the K-1 inputs the state
    /// kept, then the segment's; the state keeps the last K-1.
    private func convolve(_ s: Segment, _ w: MambaWeights) {
        let state = s.state.mamba[w.slot], k1 = w.kernel - 1, di = w.inner, n = s.tokens.count
        a.history.base.update(from: state.conv.base, count: k1 * di)
        for r in 0..<n { a.history[k1 + r].update(from: a.xz[s.row + r], count: di) }
        state.conv.base.update(from: a.history[n], count: k1 * di)
        parallelBlocks(di) { channels in
            causalConvSiLU(history: a.history.base, steps: n, weights: w, into: a.u[s.row], channels: channels)
        }
    }

    /// y = the selective scan over one segment's positions for `channels`, continuing its
    /// state. Channels are independent, so disjoint channel ranges run concurrently.
    private func scan(_ s: Segment, _ w: MambaWeights, channels: Range<Int>) {
        ElementwiseKernels.scan(
            steps: s.tokens.count, u: a.u[s.row], delta: a.delta[s.row], di: w.inner, bc: a.dbc[s.row, w.rank],
            bcStride: a.dbc.width, stateSize: w.stateSize, a: w.a, d: w.d, state: s.state.mamba[w.slot].ssm.base,
            into: a.y[s.row], channels: channels)
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
            u[t * di + c] = sum
        }
        let sums = u + t * di + channels.lowerBound
        ElementwiseKernels.silu(sums, gate: nil, into: sums, count: channels.count)
    }
}
