// The per-position pieces of the top-1 mixture-of-experts mixer, shared by prefill and decode.

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
