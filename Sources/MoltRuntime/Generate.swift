import MoltCore

extension BlackMambaModel {
    /// Continues `prompt` by up to `maxNewTokens` tokens chosen by `sampler` and returns them.
    /// `onToken` sees each token as soon as it is chosen and returns false to stop early (at an
    /// end-of-text id, say). Every embedding row can be chosen, padding rows past
    /// `config.vocabSize` included, as in the published inference code. Given a `state`, the
    /// prompt continues the sequence it holds (an interactive session's next turn); the state
    /// then holds every token except the last one returned, which the next turn's prompt
    /// must start with.
    public func generate(
        prompt: [Int], state: DecodeState? = nil, maxNewTokens: Int, sampler: inout Sampler,
        onToken: (Int) throws -> Bool = { _ in true }
    ) throws -> [Int] {
        guard maxNewTokens >= 0 else { throw MoltError(.usage, "cannot generate \(maxNewTokens) tokens") }
        sampler.remember(prompt)
        let state = state ?? makeState()
        let last = try prefill(prompt, state: state, logits: .last)
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
