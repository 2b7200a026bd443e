import MoltCore
import MoltKernels

// The top-1 mixture-of-experts mixer (Formats/model.md, "MoE mixer"): a router picks one
// expert per position, whose output, scaled by the router's probability, is added to the
// residual stream.

extension ForwardPass {
    /// x += p[e] * expert_e(normed) with e the top-1 expert of each position:
    ///     p = sigmoid(router(normed)),  e = argmax p (the lowest index on ties),
    ///     expert(v) = fc2(gelu(a[0..<F]) * a[F..<2F]) with a = fc1(v) (gated; else fc2(gelu(a))),
    /// gelu the exact erf form. Positions are grouped by expert so each expert runs one matrix
    /// product over all of its positions.
    func moe(_ w: MoEWeights, layer i: Int) {
        let router = Rows(viewing: a.router, width: w.experts.count)
        observe(TensorNames.router(i, "weight"), a.normed)
        matmul(a.normed, w.router, into: router)
        for r in 0..<rows {
            (a.expert[r], a.weight[r]) = route(router[r], bias: w.routerBias, experts: router.width)
        }
        for (e, expert) in w.experts.enumerated() {
            let count = gather(expert: e)
            guard count > 0 else { continue }
            run(expert, layer: i, index: e, rows: count)
            for j in 0..<count {
                let r = a.order[j]
                addScaled(a.expertOut[j], by: a.weight[r], to: a.x[r], count: a.x.width)
            }
        }
    }

    /// Copies the normed rows of the positions routed to expert `e` into `a.gathered`, their
    /// positions into `a.order`, and returns how many there are.
    private func gather(expert e: Int) -> Int {
        var count = 0
        for r in 0..<rows where a.expert[r] == e {
            a.gathered[count].update(from: a.normed[r], count: a.normed.width)
            a.order[count] = r
            count += 1
        }
        return count
    }

    /// expertOut = fc2(activation(fc1(gathered))) over the first `count` gathered rows.
    private func run(_ expert: ExpertWeights, layer i: Int, index e: Int, rows count: Int) {
        let hidden = Rows(viewing: a.hidden, width: expert.fc1.rows), gated = Rows(viewing: a.gated, width: expert.ffn)
        observe(TensorNames.expert(i, e, "linear_fc1.weight"), a.gathered, rows: count, positions: a.order)
        matmul(a.gathered, expert.fc1, into: hidden, rows: count)
        addBias(expert.fc1Bias, to: hidden.base, rows: count, width: hidden.width)
        parallelBlocks(expert.ffn) { units in
            for j in 0..<count { expertActivation(hidden[j], into: gated[j], expert: expert, units: units) }
        }
        observe(TensorNames.expert(i, e, "linear_fc2.weight"), gated, rows: count, positions: a.order)
        matmul(gated, expert.fc2, into: a.expertOut, rows: count)
        addBias(expert.fc2Bias, to: a.expertOut.base, rows: count, width: a.expertOut.width)
    }
}

extension BlackMambaModel {
    /// Expert `expert` of MoE layer `layer` applied to `count` normed rows [count, H] outside
    /// routing: its activations [count, F], the input of its fc2. For calibration of experts
    /// the router sent too few tokens; nothing of the model's state is touched.
    public func expertActivations(layer: Int, expert e: Int, rows: [Float], count: Int) throws -> [Float] {
        guard case .moe(let w) = weights.layers[layer].mixer, w.experts.indices.contains(e) else {
            throw MoltError(.usage, "layer \(layer) has no expert \(e)")
        }
        let h = config.hiddenSize, expert = w.experts[e], width = expert.fc1.rows, f = expert.ffn
        guard rows.count == count * h else { throw MoltError(.usage, "\(rows.count) values for \(count) rows of \(h)") }
        guard count > 0 else { return [] }
        let hidden = FloatBuffer(count: count * width)
        var gated = [Float](repeating: 0, count: count * f)
        rows.withUnsafeBufferPointer { x in
            matmul(x.baseAddress!, rows: count, lda: h, expert.fc1, into: hidden.base, ldc: width)
        }
        addBias(expert.fc1Bias, to: hidden.base, rows: count, width: width)
        gated.withUnsafeMutableBufferPointer { g in
            for j in 0..<count { expertActivation(hidden.base + j * width, into: g.baseAddress! + j * f, expert: expert, units: 0..<f) }
        }
        return gated
    }
}

/// Picks the expert for one position from its router logits (without bias), which become the
/// sigmoid probabilities in place. Returns the expert and its probability, the output's scale.
func route(_ logits: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, experts: Int) -> (expert: Int, weight: Float) {
    for e in 0..<experts { logits[e] = sigmoid(logits[e] + bias[e]) }
    // Compared after the sigmoid, as the published code does: saturated probabilities tie.
    let best = argmax(logits, count: experts)
    return (best, logits[best])
}

/// g = gelu(a[0..<F]) * a[F..<2F] for gated experts, else gelu(a): one position's activation,
/// for the hidden units in `units`.
func expertActivation(_ a: UnsafePointer<Float>, into g: UnsafeMutablePointer<Float>, expert: ExpertWeights, units: Range<Int>) {
    let first = units.lowerBound
    ElementwiseKernels.gelu(a + first, gate: expert.gated ? a + expert.ffn + first : nil, into: g + first, count: units.count)
}

/// x += p * out over `count` values: an expert's output, scaled by its router probability.
private func addScaled(_ out: UnsafePointer<Float>, by p: Float, to x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] += p * out[i] }
}
