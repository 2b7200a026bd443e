// The top-1 mixture-of-experts mixer (Formats/model.md): a router picks one expert per
// position, whose output, scaled by the router's probability, is added to the residual.

extension BlackMambaModel {
    /// x += p[e] * expert_e(normed) with e the top-1 expert of each position. Positions are
    /// grouped by expert so each expert runs one matrix product over all of its positions.
    func moe(_ w: MoEWeights, steps t: Int, stepwise: Bool, scratch a: RunState) {
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
    let f = expert.ffn
    if expert.gated {
        for i in units { g[i] = gelu(a[i]) * a[f + i] }
    } else {
        for i in units { g[i] = gelu(a[i]) }
    }
}
