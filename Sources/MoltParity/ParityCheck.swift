import MoltCore
import MoltRuntime

/// Runs a source model and its conversion side by side on the same sequences, through
/// prefill and through decode steps, and judges the conversion.
public struct ParityCheck {
    public var sequences: [VerificationSequence]
    /// Positions of each sequence also run one token at a time through the decode step.
    public var decodeSteps: Int
    /// nil demands bit-identical logits (a lossless recipe); otherwise these bounds apply.
    public var thresholds: Thresholds?
    /// Relative RMS error of each stored tensor, to name the tensors behind a jump in error.
    public var tensorErrors: [String: Double]

    public init(sequences: [VerificationSequence], decodeSteps: Int = 16, thresholds: Thresholds?, tensorErrors: [String: Double] = [:]) {
        self.sequences = sequences
        self.decodeSteps = decodeSteps
        self.thresholds = thresholds
        self.tensorErrors = tensorErrors
    }

    public func run(source: BlackMambaModel, converted: BlackMambaModel) throws -> ParityReport {
        let config = source.config
        guard config == converted.config else {
            throw MoltError.badInput("the converted model's config differs from its source's")
        }
        var report = ParityReport(config: config, thresholds: thresholds)
        var residualError = [Int: (difference: Double, energy: Double)]()
        var routing = [Int: (same: Int, total: Int)]()
        for sequence in sequences {
            let (sourceRun, sourceState) = try traced(source, sequence.tokens)
            let (convertedRun, convertedState) = try traced(converted, sequence.tokens)
            let next: [Int?] = sequence.isText ? sequence.tokens.dropFirst().map { $0 } + [nil] : []
            var prefill = LogitMetrics()
            prefill.add(source: sourceRun, converted: convertedRun, vocab: config.vocabRows, next: next)

            for (layer, xs) in sourceState.residuals {
                let xc = convertedState.residuals[layer] ?? []
                var entry = residualError[layer] ?? (0, 0)
                for (a, b) in zip(xs, xc) {
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

            let steps = Array(sequence.tokens.prefix(decodeSteps))
            var decode = LogitMetrics()
            decode.add(
                source: try decoded(source, steps), converted: try decoded(converted, steps), vocab: config.vocabRows, next: [])
            report.add(sequence: sequence, prefill: prefill, decode: decode)
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

    private func traced(_ model: BlackMambaModel, _ tokens: [Int]) throws -> ([Float], DecodeState) {
        let state = model.makeState()
        state.recordsRoutes = true
        state.recordsResiduals = true
        return (try model.prefill(tokens, state: state), state)
    }

    private func decoded(_ model: BlackMambaModel, _ tokens: [Int]) throws -> [Float] {
        let state = model.makeState()
        var logits: [Float] = []
        for token in tokens { logits += try model.decode(token, state: state) }
        return logits
    }
}
