import MoltCore

// The forward pass (Formats/model.md) over runs of consecutive positions of one or more
// sequences, stacked as the rows of one run state: the matrix products cover every row at once
// (so an expert's weights are prepared once for all the sequences routed to it), while the
// convolution and the scan, which carry each sequence's state, go segment by segment. Prefill
// feeds it chunks of prompts, decode one token. The mixers are in Mamba.swift and MoE.swift.

/// One sequence's run of positions within a forward pass: its tokens, the state they continue,
/// and the first row of the run state they occupy.
struct Segment {
    let tokens: ArraySlice<Int>
    let state: DecodeState
    let row: Int

    var rows: Range<Int> { row..<row + tokens.count }
}

/// One forward pass: its segments, stacked as the rows of a run state `a`.
struct ForwardPass {
    let model: BlackMambaModel
    let segments: [Segment]
    let a: RunState
    /// Rows in all: every segment's positions.
    let rows: Int
    /// Every segment is one position: each row is its sequence's decode step and runs as that
    /// step would alone (`BlackMambaModel.matmul`).
    let stepwise: Bool
    /// Who observes which rows (ForwardObserver.swift); empty in normal use.
    let observed: [ObservedRows]

    init(model: BlackMambaModel, segments: [Segment], scratch: RunState) {
        self.model = model
        self.segments = segments
        a = scratch
        rows = segments.reduce(0) { $0 + $1.tokens.count }
        stepwise = segments.allSatisfy { $0.tokens.count == 1 }
        observed = ObservedRows.of(segments)
    }

    /// Runs every segment's tokens (already validated) through every layer, continuing each
    /// from its state, and leaves the final residual stream in `a.x` [rows, H]:
    ///     x = E[id];  per layer: x += mixer(rmsnorm(x) * norm_w)
    /// with rmsnorm(v) = v / sqrt(mean(v^2) + 1e-5), and the mixer Mamba's or MoE's.
    func run() {
        let weights = model.weights
        for s in segments {
            for (row, id) in zip(s.rows, s.tokens) { weights.embedding.copyRow(id, into: a.x[row]) }
        }
        for (i, layer) in weights.layers.enumerated() {
            for r in 0..<rows { rmsNorm(a.x[r], weight: layer.norm, into: a.normed[r], count: a.x.width) }
            // Each mixer adds its output to the residual stream a.x.
            switch layer.mixer {
            case .mamba(let w): mamba(w, layer: i)
            case .moe(let w): moe(w, layer: i)
            }
            report(layer: i, layer.mixer)
        }
        observeFinalNorm()
        for s in segments { s.state.position += s.tokens.count }
    }

    /// y = x · w^T over the pass's rows (or the first `count`), y += that when `accumulate`.
    func matmul(_ x: Rows, _ w: Matrix, into y: Rows, rows count: Int? = nil, accumulate: Bool = false) {
        model.matmul(
            x.base, rows: count ?? rows, lda: x.width, w, into: y.base, ldc: y.width, accumulate: accumulate,
            stepwise: stepwise)
    }

    func parallelBlocks(_ count: Int, _ body: (Range<Int>) -> Void) {
        model.parallelBlocks(count, body)
    }
}

extension BlackMambaModel {
    func forward(_ segments: [Segment], scratch: RunState) {
        ForwardPass(model: self, segments: segments, scratch: scratch).run()
    }

    /// logits[rows, V] = layernorm(x rows) · E^T (+ output bias), E the tied embedding; rows
    /// `stepwise` as in `ForwardPass`.
    func logits(
        _ x: UnsafePointer<Float>, rows: Int, scratch a: RunState, into out: UnsafeMutablePointer<Float>,
        stepwise: Bool = false
    ) {
        let h = config.hiddenSize, v = config.vocabRows
        for r in 0..<rows {
            layerNorm(x + r * h, weight: weights.finalNormWeight, bias: weights.finalNormBias, into: a.normed[r], count: h)
        }
        matmul(a.normed.base, rows: rows, lda: h, weights.embedding, into: out, ldc: v, stepwise: stepwise)
        addBias(weights.outputBias, to: out, rows: rows, width: v)
    }
}
