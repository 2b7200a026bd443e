import MoltCore

extension BlackMambaModel {
    /// Continues `prompt` by up to `maxNewTokens` tokens chosen by `sampler` and returns them.
    /// `onToken` sees each token as soon as it is chosen and returns false to stop early (at an
    /// end-of-text id, say). Every embedding row can be chosen, padding rows past
    /// `config.vocabSize` included, as in the published inference code.
    public func generate(
        prompt: [Int], maxNewTokens: Int, sampler: inout Sampler, onToken: (Int) throws -> Bool = { _ in true }
    ) throws -> [Int] {
        guard maxNewTokens >= 0 else { throw MoltError(.usage, "cannot generate \(maxNewTokens) tokens") }
        let (last, state) = try prefill(prompt, logits: .last)
        state.logits.base.update(from: last, count: vocabRows)
        let choices = UnsafeBufferPointer(start: state.logits.base, count: vocabRows)
        var tokens: [Int] = []
        while tokens.count < maxNewTokens {
            let next = sampler.sample(choices)
            tokens.append(next)
            guard try onToken(next), tokens.count < maxNewTokens else { break }
            try step(next, state: state)
        }
        return tokens
    }
}
