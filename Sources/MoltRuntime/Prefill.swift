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
        try prefill([tokens], states: [state], logits: rows)[0]
    }

    /// Continues several independent sequences at once, each `batch[i]` from `states[i]`, and
    /// returns each one's logits as above. The positions of all of them go through the matrix
    /// products together, so each expert's weights are prepared once per chunk rather than once
    /// per sequence; the scan and the convolution run per sequence. Each sequence's logits are
    /// those it gets alone up to f32 rounding: a product's summation order can depend on how
    /// many rows it has (one row takes the matrix-vector kernel, and OpenBLAS blocks by size).
    public func prefill(_ batch: [[Int]], states: [DecodeState], logits rows: LogitRows = .all) throws -> [[Float]] {
        guard batch.count == states.count else {
            throw MoltError(.usage, "\(batch.count) sequences given with \(states.count) states")
        }
        guard Set(states.map(ObjectIdentifier.init)).count == states.count else {
            throw MoltError(.usage, "the same decode state was given for two sequences")
        }
        for (tokens, state) in zip(batch, states) {
            try check(state)
            try validate(tokens: tokens, firstPosition: state.position)
        }
        let v = vocabRows, h = config.hiddenSize
        let total = batch.reduce(0) { $0 + $1.count }
        let scratch = Activations(config: config, positions: min(total, Self.prefillChunk))
        var outs = batch.map { [Float](repeating: 0, count: (rows == .all ? $0.count : 1) * v) }

        // Pieces of the sequences, in order, fill chunks of `scratch.positions` rows; a sequence
        // longer than what is left of a chunk continues in the next one.
        var segments: [Segment] = [], sequenceOf: [Int] = [], used = 0
        func runChunk() {
            forward(segments, scratch: scratch)
            // Rows whose logits are wanted, and where they go.
            var wanted: [(row: Int, sequence: Int, position: Int)] = []
            for (segment, sequence) in zip(segments, sequenceOf) {
                switch rows {
                case .all: wanted += zip(segment.rows, segment.tokens.indices).map { ($0, sequence, $1) }
                case .last where segment.tokens.endIndex == batch[sequence].count:
                    wanted.append((segment.rows.upperBound - 1, sequence, 0))
                case .last: break
                }
            }
            segments = []
            sequenceOf = []
            used = 0
            guard !wanted.isEmpty else { return }
            // One product over every wanted row, so the output matrix is prepared once.
            let gathered = FloatBuffer(count: wanted.count * h), result = FloatBuffer(count: wanted.count * v)
            for (i, w) in wanted.enumerated() { (gathered.base + i * h).update(from: scratch.x.base + w.row * h, count: h) }
            logits(gathered.base, rows: wanted.count, scratch: scratch, into: result.base)
            for (i, w) in wanted.enumerated() {
                outs[w.sequence].withUnsafeMutableBufferPointer { out in
                    (out.baseAddress! + w.position * v).update(from: result.base + i * v, count: v)
                }
            }
        }
        for (sequence, tokens) in batch.enumerated() {
            var start = 0
            while start < tokens.count {
                let take = min(tokens.count - start, scratch.positions - used)
                segments.append(Segment(tokens: tokens[start..<start + take], state: states[sequence], row: used))
                sequenceOf.append(sequence)
                used += take
                start += take
                if used == scratch.positions { runChunk() }
            }
        }
        if used > 0 { runChunk() }
        return outs
    }
}
