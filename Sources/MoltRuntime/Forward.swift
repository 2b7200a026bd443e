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
    func forward(_ segments: [Segment], scratch a: RunState) {
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

    /// logits[rows, V] = layernorm(x rows) · E^T (+ output bias), E the tied embedding; rows
    /// `stepwise` as in `forward`.
    func logits(
        _ x: UnsafePointer<Float>, rows: Int, scratch a: RunState, into out: UnsafeMutablePointer<Float>,
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
