import MoltCore

// The forward pass over a run of consecutive positions of one sequence. Prefill feeds it up to
// a chunk of the prompt at a time, decode one token; both carry the same `DecodeState`.
extension BlackMambaModel {
    /// Runs `tokens` (already validated) through every layer, continuing from `state`, and
    /// leaves the final residual stream in `a.x` [T, H].
    func forward(_ tokens: ArraySlice<Int>, state: DecodeState, scratch a: Activations) {
        let h = config.hiddenSize
        for (row, id) in tokens.enumerated() {
            (a.x.base + row * h).update(from: weights.embedding.row(id), count: h)
        }
        for (i, layer) in weights.layers.enumerated() {
            for r in 0..<tokens.count {
                rmsNorm(a.x.base + r * h, weight: layer.norm, into: a.normed.base + r * h, count: h)
            }
            switch layer.mixer {
            case .mamba(let w): mamba(w, steps: tokens.count, state: state.mamba[w.slot], scratch: a)
            case .moe(let w):
                moe(w, steps: tokens.count, scratch: a)
                if state.recordsRoutes { state.routes[i, default: []] += a.expert[0..<tokens.count] }
            }
            if state.recordsResiduals {
                state.residuals[i, default: []] += UnsafeBufferPointer(start: a.x.base, count: tokens.count * h)
            }
        }
        state.position += tokens.count
    }

    /// The Mamba mixer over `steps` positions: with [x, z] = in_proj(normed),
    /// residual += out_proj(scan(silu(conv(x))) * silu(z)).
    private func mamba(_ w: MambaWeights, steps t: Int, state: MambaState, scratch a: Activations) {
        let h = config.hiddenSize, di = w.inner, k1 = w.kernel - 1, dbcWidth = w.xProj.rows
        matmul(a.normed.base, rows: t, lda: h, w.inProj, into: a.xz.base, ldc: 2 * di)
        addBias(w.inBias, to: a.xz.base, rows: t, width: 2 * di)

        // The conv sees the K-1 inputs the state kept, then this run's; it keeps the last K-1.
        a.history.base.update(from: state.conv.base, count: k1 * di)
        for r in 0..<t {
            (a.history.base + (k1 + r) * di).update(from: a.xz.base + r * 2 * di, count: di)
        }
        state.conv.base.update(from: a.history.base + t * di, count: k1 * di)
        parallelBlocks(t, parts: threads) { rows in
            causalConvSiLU(
                history: a.history.base + rows.lowerBound * di, steps: rows.count, weights: w,
                into: a.u.base + rows.lowerBound * di)
        }

        matmul(a.u.base, rows: t, lda: di, w.xProj, into: a.dbc.base, ldc: dbcWidth)
        // delta's low-rank input is the first R columns of each dbc row.
        matmul(a.dbc.base, rows: t, lda: dbcWidth, w.dtProj, into: a.delta.base, ldc: di)
        parallelBlocks(t, parts: threads) { rows in
            for r in rows { softplusDelta(a.delta.base + r * di, bias: w.dtBias, count: di) }
        }

        parallelBlocks(di, parts: t > 1 ? threads : 1) { channels in
            selectiveScan(
                steps: t, u: a.u.base, delta: a.delta.base, bc: a.dbc.base + w.rank, bcStride: dbcWidth,
                weights: w, state: state.ssm.base, into: a.y.base, channels: channels)
        }
        parallelBlocks(t, parts: threads) { rows in
            for r in rows { gateWithSiLU(a.y.base + r * di, by: a.xz.base + r * 2 * di + di, count: di) }
        }

        matmul(a.y.base, rows: t, lda: di, w.outProj, into: a.x.base, ldc: h, accumulate: true)
        addBias(w.outBias, to: a.x.base, rows: t, width: h)
    }

    /// x += p[e] * expert_e(normed) with e the top-1 expert of each position. Positions are
    /// grouped by expert so each expert runs one matrix product over all of its positions.
    private func moe(_ w: MoEWeights, steps t: Int, scratch a: Activations) {
        let h = config.hiddenSize, experts = w.experts.count
        matmul(a.normed.base, rows: t, lda: h, w.router, into: a.router.base, ldc: experts)
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
            matmul(a.gathered.base, rows: count, lda: h, expert.fc1, into: a.hidden.base, ldc: width)
            addBias(expert.fc1Bias, to: a.hidden.base, rows: count, width: width)
            parallelBlocks(count, parts: threads) { rows in
                for j in rows { expertActivation(a.hidden.base + j * width, into: a.gated.base + j * f, expert: expert) }
            }
            matmul(a.gated.base, rows: count, lda: f, expert.fc2, into: a.expertOut.base, ldc: h)
            addBias(expert.fc2Bias, to: a.expertOut.base, rows: count, width: h)
            for j in 0..<count {
                let x = a.x.base + a.order[j] * h, out = a.expertOut.base + j * h, p = a.weight[a.order[j]]
                for i in 0..<h { x[i] += p * out[i] }
            }
        }
    }

    /// logits[rows, V] = layernorm(x rows) · E^T (+ output bias), E the tied embedding.
    func logits(_ x: UnsafePointer<Float>, rows: Int, scratch a: Activations, into out: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize, v = config.vocabRows
        for r in 0..<rows {
            layerNorm(
                x + r * h, weight: weights.finalNormWeight, bias: weights.finalNormBias,
                into: a.normed.base + r * h, count: h)
        }
        matmul(a.normed.base, rows: rows, lda: h, weights.output, into: out, ldc: v)
        addBias(weights.outputBias, to: out, rows: rows, width: v)
    }
}
