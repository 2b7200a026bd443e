import Dispatch
import MoltCore
import MoltRuntime

/// Runs a source model and its conversion side by side on the same sequences and judges the
/// conversion. The converted model runs as users run it: a prefill of each sequence but its
/// last `decodeSteps` tokens, then a decode step per remaining token, continuing that state
/// (the sequences' steps batched, which changes no bit of any).
/// The source gives its logits for every position from one prefill, since a position's logits
/// depend only on the tokens up to it; for a lossless conversion, which must match bit for
/// bit, the source takes the converted model's path exactly.
public struct ParityCheck {
    public var sequences: [VerificationSequence]
    /// Positions at the end of each sequence run through the decode step.
    public var decodeSteps: Int
    /// nil demands bit-identical logits (a lossless recipe); otherwise these bounds apply.
    public var thresholds: Thresholds?
    /// Relative RMS error of each stored tensor, to name the tensors behind a jump in error.
    public var tensorErrors: [String: Double]

    public init(sequences: [VerificationSequence], decodeSteps: Int = 8, thresholds: Thresholds?, tensorErrors: [String: Double] = [:]) {
        self.sequences = sequences
        self.decodeSteps = decodeSteps
        self.thresholds = thresholds
        self.tensorErrors = tensorErrors
    }

    /// The source's side of the check: its logits, routes and residuals on every sequence.
    /// It needs nothing of the conversion, so it can run while the conversion is written.
    public struct Reference: @unchecked Sendable {
        let config: BlackMambaConfig
        let runs: [([Float], LayerRecorder)]
    }

    /// Where each sequence's decode steps begin. At least one position is prefilled, so a
    /// decode step always continues a prefill.
    private var splits: [Int] { sequences.map { max(1, $0.tokens.count - decodeSteps) } }

    public func reference(_ source: BlackMambaModel) throws -> Reference {
        // A lossless conversion must match bit for bit, so its source takes the converted path.
        let runs = try traced(source, decodeFrom: thresholds == nil ? splits : sequences.map(\.tokens.count))
        return Reference(config: source.config, runs: runs)
    }

    public func run(source: BlackMambaModel, converted: BlackMambaModel) throws -> ParityReport {
        try run(converted: converted) { try reference(source) }
    }

    /// Runs `converted`, then judges it against the source's side, made by `reference` with
    /// these sequences: asked for once the converted model has run, so that a source side
    /// still running elsewhere can finish meanwhile.
    public func run(converted: BlackMambaModel, reference: () throws -> Reference) throws -> ParityReport {
        let splits = splits
        let convertedRuns = try traced(converted, decodeFrom: splits)
        let reference = try reference()
        let config = reference.config
        guard config == converted.config else {
            throw MoltError.badInput("the converted model's config differs from its source's")
        }
        guard reference.runs.count == sequences.count else {
            throw MoltError(.usage, "the source's side was run on \(reference.runs.count) sequences, not \(sequences.count)")
        }
        let vocab = config.vocabRows
        var report = ParityReport(config: config, thresholds: thresholds)
        var residualError = [Int: (difference: Double, energy: Double)]()
        var routing = [Int: (same: Int, total: Int)]()
        let sourceRuns = reference.runs
        let metrics = logitMetrics(source: sourceRuns.map(\.0), converted: convertedRuns.map(\.0), splits: splits, vocab: vocab)
        for (index, sequence) in sequences.enumerated() {
            let split = splits[index]
            let sourceState = sourceRuns[index].1, convertedState = convertedRuns[index].1

            // Over the prefilled positions only, where both models ran the same kernels: there
            // a layer's error is the conversion's, not the rounding of decode against prefill.
            for (layer, xs) in sourceState.residuals {
                let xc = convertedState.residuals[layer] ?? [], width = split * config.hiddenSize
                var entry = residualError[layer] ?? (0, 0)
                for (a, b) in zip(xs.prefix(width), xc.prefix(width)) {
                    entry.energy += Double(a) * Double(a)
                    entry.difference += (Double(a) - Double(b)) * (Double(a) - Double(b))
                }
                residualError[layer] = entry
            }
            for (layer, chosen) in sourceState.routes {
                let other = convertedState.routes[layer] ?? []
                var entry = routing[layer] ?? (0, 0)
                entry.same += zip(chosen, other).filter { $0 == $1 }.count
                entry.total += chosen.count
                routing[layer] = entry
            }
            report.add(sequence: sequence, prefill: metrics[index].prefill, decode: metrics[index].decode)
        }
        report.residuals = residualError.keys.sorted().map { layer in
            let e = residualError[layer]!
            return ParityReport.LayerError(
                layer: layer, kind: config.layers[layer] == .mamba ? "mamba" : "moe",
                relativeError: e.energy > 0 ? (e.difference / e.energy).squareRoot() : 0)
        }
        report.routing = routing.keys.sorted().map { layer in
            ParityReport.Routing(layer: layer, agreement: Double(routing[layer]!.same) / Double(max(routing[layer]!.total, 1)))
        }
        report.locateJump(tensorErrors: tensorErrors)
        report.judge()
        return report
    }

    /// Each sequence's logit metrics over its prefilled and its decoded positions, the sequences
    /// spread over the cores: two exponentials per vocabulary entry and position add up.
    private func logitMetrics(source: [[Float]], converted: [[Float]], splits: [Int], vocab: Int)
        -> [(prefill: LogitMetrics, decode: LogitMetrics)]
    {
        var results = [(prefill: LogitMetrics, decode: LogitMetrics)](repeating: (LogitMetrics(), LogitMetrics()), count: sequences.count)
        results.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendable(out)
            DispatchQueue.concurrentPerform(iterations: sequences.count) { index in
                let tokens = sequences[index].tokens, split = splits[index], cut = split * vocab
                let next: [Int?] = sequences[index].isText ? tokens.dropFirst().map { $0 } + [nil] : []
                var prefill = LogitMetrics(), decode = LogitMetrics()
                prefill.add(
                    source: source[index][..<cut], converted: converted[index][..<cut], vocab: vocab, next: Array(next.prefix(split)))
                decode.add(
                    source: source[index][cut...], converted: converted[index][cut...], vocab: vocab, next: Array(next.dropFirst(split)))
                out.value[index] = (prefill, decode)
            }
        }
        return results
    }

    /// Logits for every position of each sequence, [count, vocabRows]: one batched prefill of
    /// the positions before its `decodeFrom`, then one decode step each; routes and residuals
    /// recorded throughout.
    private func traced(_ model: BlackMambaModel, decodeFrom splits: [Int]) throws -> [([Float], LayerRecorder)] {
        let states = sequences.map { _ in model.makeState() }, recorders = sequences.map { _ in LayerRecorder(residuals: true) }
        for (state, recorder) in zip(states, recorders) { state.observer = recorder }
        var logits = try model.prefill(zip(sequences, splits).map { Array($0.tokens[..<$1]) }, states: states)
        // The sequences' decode steps run side by side, one token of each still going per step:
        // each gets the bits its own steps would, and the weights are read once per step.
        for step in 0... {
            let going = sequences.indices.filter { splits[$0] + step < sequences[$0].tokens.count }
            guard !going.isEmpty else { break }
            let stepLogits = try model.decode(going.map { sequences[$0].tokens[splits[$0] + step] }, states: going.map { states[$0] })
            for (index, row) in zip(going, stepLogits) { logits[index] += row }
        }
        return Array(zip(logits, recorders))
    }
}
