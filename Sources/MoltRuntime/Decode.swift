import MoltCore

/// One Mamba layer's memory of the sequence so far: O(1) in its length.
final class MambaState {
    /// [K-1, Di]: the last K-1 pre-convolution inputs, oldest first (zeros before the start).
    let conv: FloatBuffer
    /// [Di, N]: the scan state h.
    let ssm: FloatBuffer

    init(config c: BlackMambaConfig) {
        conv = FloatBuffer(count: (c.convDimension - 1) * c.innerSize)
        ssm = FloatBuffer(count: c.innerSize * c.stateSize)
    }
}

/// A sequence being run: what each Mamba layer remembers, plus one position's scratch and
/// logits so that a decode step allocates nothing. Made by `BlackMambaModel.makeState()` or
/// returned by `prefill`; use it with the model that made it, from one thread at a time.
public final class DecodeState {
    /// Tokens consumed so far.
    public internal(set) var position = 0
    /// Sees what the forward pass computes for this sequence's positions run from now on.
    public var observer: ForwardObserver?
    let model: BlackMambaModel
    /// Per Mamba layer, in layer order (`MambaWeights.slot`).
    let mamba: [MambaState]
    let scratch: RunState
    /// [vocabRows]: the logits after the last token decoded.
    let logits: FloatBuffer

    init(model: BlackMambaModel) {
        let c = model.config
        self.model = model
        mamba = c.layers.filter { $0 == .mamba }.map { _ in MambaState(config: c) }
        scratch = RunState(config: c, positions: 1)
        logits = FloatBuffer(count: c.vocabRows)
    }
}

extension BlackMambaModel {
    /// Feeds one token to the sequence and returns the logits [vocabRows] for the next one.
    public func decode(_ token: Int, state: DecodeState) throws -> [Float] {
        try step(token, state: state)
        return Array(UnsafeBufferPointer(start: state.logits.base, count: vocabRows))
    }

    /// Feeds `tokens[i]` to the sequence in `states[i]`, for several sequences at once, and
    /// returns each one's logits [vocabRows]: exactly the bits `decode(_:state:)` would give it
    /// alone, while every weight matrix is read from memory once for all of them.
    public func decode(_ tokens: [Int], states: [DecodeState]) throws -> [[Float]] {
        try check(batchOf: tokens.count, states: states)
        for (token, state) in zip(tokens, states) { try validate(tokens: [token], firstPosition: state.position) }
        guard !tokens.isEmpty else { return [] }
        let v = vocabRows, scratch = RunState(config: config, positions: tokens.count)
        forward(zip(tokens, states).enumerated().map { Segment(tokens: [$1.0][...], state: $1.1, row: $0) }, scratch: scratch)
        let out = FloatBuffer(count: tokens.count * v)
        logits(scratch.x.base, rows: tokens.count, scratch: scratch, into: out.base, stepwise: true)
        return tokens.indices.map { Array(UnsafeBufferPointer(start: out.base + $0 * v, count: v)) }
    }

    /// The decode step, leaving the logits in `state.logits`.
    func step(_ token: Int, state: DecodeState) throws {
        try check(state)
        try validate(tokens: [token], firstPosition: state.position)
        forward([Segment(tokens: [token][...], state: state, row: 0)], scratch: state.scratch)
        logits(state.scratch.x.base, rows: 1, scratch: state.scratch, into: state.logits.base)
    }
}
