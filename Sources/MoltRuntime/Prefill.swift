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
    public static let prefillChunk = 512

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
        try check(batchOf: batch.count, states: states)
        for (tokens, state) in zip(batch, states) { try validate(tokens: tokens, firstPosition: state.position) }
        let v = vocabRows, h = config.hiddenSize
        let total = batch.reduce(0) { $0 + $1.count }
        let scratch = RunState(config: config, positions: min(total, Self.prefillChunk))
        var outs = batch.map { [Float](repeating: 0, count: (rows == .all ? $0.count : 1) * v) }

        // Pieces of the sequences, in order, fill chunks of `scratch.positions` rows; a sequence
        // longer than what is left of a chunk continues in the next one. Each piece remembers
        // its sequence, whose logits it fills.
        var pieces: [(segment: Segment, sequence: Int)] = [], used = 0
        func runChunk() {
            forward(pieces.map(\.segment), scratch: scratch)
            defer {
                pieces = []
                used = 0
            }
            switch rows {
            case .all where pieces.count == 1:
                // One sequence's run of positions: straight into its logits.
                let (segment, sequence) = pieces[0]
                outs[sequence].withUnsafeMutableBufferPointer { out in
                    logits(scratch.x.base, rows: used, scratch: scratch, into: out.baseAddress! + segment.tokens.startIndex * v)
                }
            case .all:
                // One product over every row, so the output matrix is prepared once, then each
                // sequence's rows to their place.
                let result = FloatBuffer(count: used * v)
                logits(scratch.x.base, rows: used, scratch: scratch, into: result.base)
                for (segment, sequence) in pieces {
                    outs[sequence].withUnsafeMutableBufferPointer { out in
                        (out.baseAddress! + segment.tokens.startIndex * v)
                            .update(from: result.base + segment.row * v, count: segment.tokens.count * v)
                    }
                }
            case .last:
                let ends = pieces.filter { $0.segment.tokens.endIndex == batch[$0.sequence].count }
                guard !ends.isEmpty else { return }
                let gathered = FloatBuffer(count: ends.count * h), result = FloatBuffer(count: ends.count * v)
                for (i, end) in ends.enumerated() {
                    (gathered.base + i * h).update(from: scratch.x.base + (end.segment.rows.upperBound - 1) * h, count: h)
                }
                logits(gathered.base, rows: ends.count, scratch: scratch, into: result.base)
                for (i, end) in ends.enumerated() {
                    outs[end.sequence].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: result.base + i * v, count: v) }
                }
            }
        }
        for (sequence, tokens) in batch.enumerated() {
            var start = 0
            while start < tokens.count {
                let take = min(tokens.count - start, scratch.positions - used)
                pieces.append((Segment(tokens: tokens[start..<start + take], state: states[sequence], row: used), sequence))
                used += take
                start += take
                if used == scratch.positions { runChunk() }
            }
        }
        if used > 0 { runChunk() }
        return outs
    }
}
