import MoltCore

// The forward pass over runs of consecutive positions of one or more sequences, stacked as the
// rows of one scratch: the matrix products cover every row at once (so an expert's weights are
// prepared once for all the sequences routed to it), while the convolution and the scan, which
// carry each sequence's state, go segment by segment. Prefill feeds it chunks of prompts,
// decode one token.

/// One sequence's run of positions within a forward pass: its tokens, the state they continue,
/// and the first scratch row they occupy.
struct Segment {
    let tokens: ArraySlice<Int>
    let state: DecodeState
    let row: Int

    var rows: Range<Int> { row..<row + tokens.count }
}

extension BlackMambaModel {
    /// Runs every segment's tokens (already validated) through every layer, continuing each
    /// from its state, and leaves the final residual stream in `a.x` [T, H], T the rows in all.
    /// When every segment is one position, each row is its sequence's decode step and runs as
    /// that step would alone (`matmul`'s `stepwise`).
    func forward(_ segments: [Segment], scratch a: Activations) {
        let h = config.hiddenSize, t = segments.reduce(0) { $0 + $1.tokens.count }
        let stepwise = segments.allSatisfy { $0.tokens.count == 1 }
        for segment in segments {
            for (row, id) in zip(segment.rows, segment.tokens) {
                weights.embedding.copyRow(id, into: a.x.base + row * h)
            }
        }
        for (i, layer) in weights.layers.enumerated() {
            for r in 0..<t {
                rmsNorm(a.x.base + r * h, weight: layer.norm, into: a.normed.base + r * h, count: h)
            }
            switch layer.mixer {
            case .mamba(let w): mamba(w, segments: segments, steps: t, stepwise: stepwise, scratch: a)
            case .moe(let w):
                moe(w, steps: t, stepwise: stepwise, scratch: a)
                for s in segments where s.state.recordsRoutes { s.state.routes[i, default: []] += a.expert[s.rows] }
            }
            for s in segments where s.state.recordsResiduals {
                s.state.residuals[i, default: []] += UnsafeBufferPointer(start: a.x.base + s.row * h, count: s.tokens.count * h)
            }
        }
        for s in segments { s.state.position += s.tokens.count }
    }

    /// The Mamba mixer over `steps` rows: with [x, z] = in_proj(normed),
    /// residual += out_proj(scan(silu(conv(x))) * silu(z)).
    private func mamba(_ w: MambaWeights, segments: [Segment], steps t: Int, stepwise: Bool, scratch a: Activations) {
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

    /// x += p[e] * expert_e(normed) with e the top-1 expert of each position. Positions are
    /// grouped by expert so each expert runs one matrix product over all of its positions.
    private func moe(_ w: MoEWeights, steps t: Int, stepwise: Bool, scratch a: Activations) {
        let h = config.hiddenSize, experts = w.experts.count
        matmul(a.normed.base, rows: t, lda: h, w.router, into: a.router.base, ldc: experts, stepwise: stepwise)
        for r in 0..<t {
            (a.expert[r], a.weight[r]) = route(a.router.base + r * experts, bias: w.routerBias, experts: experts)
        }
        for (e, expert) in w.experts.enumerated() {
            var count = 0
            for r in 0..<t where a.expert[r] == e {
                (a.gathered.base + count * h).update(from: a.normed.base + r * h, count: h)
                a.order[count] = r
                count += 1
            }
            guard count > 0 else { continue }
            let width = expert.fc1.rows, f = expert.ffn
            matmul(a.gathered.base, rows: count, lda: h, expert.fc1, into: a.hidden.base, ldc: width, stepwise: stepwise)
            addBias(expert.fc1Bias, to: a.hidden.base, rows: count, width: width)
            parallelBlocks(f) { units in
                for j in 0..<count {
                    expertActivation(a.hidden.base + j * width, into: a.gated.base + j * f, expert: expert, units: units)
                }
            }
            matmul(a.gated.base, rows: count, lda: f, expert.fc2, into: a.expertOut.base, ldc: h, stepwise: stepwise)
            addBias(expert.fc2Bias, to: a.expertOut.base, rows: count, width: h)
            for j in 0..<count {
                let x = a.x.base + a.order[j] * h, out = a.expertOut.base + j * h, p = a.weight[a.order[j]]
                for i in 0..<h { x[i] += p * out[i] }
            }
        }
    }

    /// logits[rows, V] = layernorm(x rows) · E^T (+ output bias), E the tied embedding; rows
    /// `stepwise` as in `forward`.
    func logits(
        _ x: UnsafePointer<Float>, rows: Int, scratch a: Activations, into out: UnsafeMutablePointer<Float>,
        stepwise: Bool = false
    ) {
        let h = config.hiddenSize, v = config.vocabRows
        for r in 0..<rows {
            layerNorm(
                x + r * h, weight: weights.finalNormWeight, bias: weights.finalNormBias,
                into: a.normed.base + r * h, count: h)
        }
        matmul(a.normed.base, rows: rows, lda: h, weights.embedding, into: out, ldc: v, stepwise: stepwise)
        addBias(weights.outputBias, to: out, rows: rows, width: v)
    }
}
