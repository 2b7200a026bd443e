import MoltCore

/// Which positions' logits `prefill` returns. Generation needs only the last row, and the
/// [L, V] product is a large share of a long prompt's work.
public enum LogitRows: Sendable {
    case all
    case last
}

extension BlackMambaModel {
    /// Positions run through the layers at once. Bounds the scratch memory of long prompts
    /// while keeping the matrix products large enough to be efficient.
    static let prefillChunk = 512

    /// Runs a whole prompt from a fresh state. Returns the logits, [L, vocabRows] row-major
    /// (or [vocabRows] for `.last`), and the state to continue it with `decode`.
    public func prefill(_ tokens: [Int], logits rows: LogitRows = .all) throws -> (logits: [Float], state: DecodeState) {
        let state = makeState()
        return (try prefill(tokens, state: state, logits: rows), state)
    }

    /// Continues the sequence in `state` with `tokens`, returning their logits as above.
    public func prefill(_ tokens: [Int], state: DecodeState, logits rows: LogitRows = .all) throws -> [Float] {
        try check(state)
        try validate(tokens: tokens, firstPosition: state.position)
        let v = vocabRows, h = config.hiddenSize
        let scratch = Activations(config: config, positions: min(tokens.count, Self.prefillChunk))
        var out = [Float](repeating: 0, count: (rows == .all ? tokens.count : 1) * v)
        out.withUnsafeMutableBufferPointer { out in
            guard let out = out.baseAddress else { return }
            for start in stride(from: 0, to: tokens.count, by: scratch.positions) {
                let chunk = tokens[start..<min(start + scratch.positions, tokens.count)]
                forward(chunk, state: state, scratch: scratch)
                switch rows {
                case .all:
                    logits(scratch.x.base, rows: chunk.count, scratch: scratch, into: out + start * v)
                case .last where chunk.endIndex == tokens.count:
                    logits(scratch.x.base + (chunk.count - 1) * h, rows: 1, scratch: scratch, into: out)
                case .last:
                    break
                }
            }
        }
        return out
    }
}
