import Foundation
import MoltCore

/// What a parity check found, and its verdict. Goes into the .molt header, onto the terminal
/// as a table, and into `--report FILE.json`.
public struct ParityReport: Sendable {
    public struct SequenceResult: Sendable {
        public var name: String
        public var length: Int
        fileprivate var prefill: LogitMetrics
        fileprivate var decode: LogitMetrics
    }

    public struct LayerError: Sendable {
        public var layer: Int
        public var kind: String
        public var relativeError: Double
    }

    public struct Routing: Sendable {
        public var layer: Int
        public var agreement: Double
    }

    public let config: BlackMambaConfig
    public let thresholds: Thresholds?
    public private(set) var sequences: [SequenceResult] = []
    public internal(set) var residuals: [LayerError] = []
    public internal(set) var routing: [Routing] = []
    /// The layer whose residual error grows most over the layer before it, and its tensors
    /// with the largest quantization error.
    public private(set) var jump: (layer: Int, tensors: [(name: String, relRMS: Double)])?
    public private(set) var failures: [String] = []
    private var prefill = LogitMetrics()
    private var decode = LogitMetrics()

    init(config: BlackMambaConfig, thresholds: Thresholds?) {
        self.config = config
        self.thresholds = thresholds
    }

    public var passed: Bool { failures.isEmpty }
    public var bitIdentical: Bool { prefill.bitIdentical && decode.bitIdentical }
    /// Prefill and decode positions together: perplexity is over the whole text.
    private var all: LogitMetrics {
        var m = prefill
        m.merge(decode)
        return m
    }
    public var meanKL: Double { prefill.meanKL }
    public var top1: Double { prefill.top1Agreement }
    /// The worse of prefill and decode, which the thresholds are applied to.
    public var worstMeanKL: Double { max(prefill.meanKL, decode.meanKL) }
    public var worstTop1: Double { min(prefill.top1Agreement, decode.top1Agreement) }
    /// Share of (position, MoE layer) pairs routed to the same expert, over all MoE layers.
    public var routingAgreement: Double {
        routing.isEmpty ? 1 : routing.map(\.agreement).reduce(0, +) / Double(routing.count)
    }

    mutating func add(sequence: VerificationSequence, prefill p: LogitMetrics, decode d: LogitMetrics) {
        sequences.append(SequenceResult(name: sequence.name, length: sequence.tokens.count, prefill: p, decode: d))
        prefill.merge(p)
        decode.merge(d)
    }

    mutating func locateJump(tensorErrors: [String: Double]) {
        var best: (layer: Int, rise: Double)?
        var previous = 0.0
        for entry in residuals {
            let rise = entry.relativeError - previous
            if rise > (best?.rise ?? 0) { best = (entry.layer, rise) }
            previous = entry.relativeError
        }
        guard let best else { return }
        let prefix = "decoder.layers.\(best.layer)."
        let tensors = tensorErrors.filter { $0.key.hasPrefix(prefix) }.sorted { $0.value > $1.value }.prefix(3)
        jump = (best.layer, tensors.map { ($0.key, $0.value) })
    }

    mutating func judge() {
        failures = []
        if let thresholds {
            apply(thresholds)
        } else if !bitIdentical {
            failures.append(String(format: "a lossless recipe must give bit-identical logits; relative L2 is %.3g", prefill.relativeL2))
        }
        if !failures.isEmpty, let jump {
            failures.append("error rises most at layer \(jump.layer)"
                + (jump.tensors.isEmpty ? "" : " (" + jump.tensors.map { String(format: "%@ rel rms %.3g", $0.name, $0.relRMS) }.joined(separator: ", ") + ")"))
        }
    }

    private mutating func apply(_ thresholds: Thresholds) {
        // Written as "not within" so that a NaN (non-finite logits) fails too.
        if !(prefill.meanKL <= thresholds.maxMeanKL && decode.meanKL <= thresholds.maxMeanKL) {
            failures.append(String(format: "mean KL %.4g (decode %.4g) exceeds %.4g", prefill.meanKL, decode.meanKL, thresholds.maxMeanKL))
        }
        if prefill.top1Agreement < thresholds.minTop1 || decode.top1Agreement < thresholds.minTop1 {
            failures.append(String(format: "top-1 agreement %.3f (decode %.3f) is below %.3f",
                                   prefill.top1Agreement, decode.top1Agreement, thresholds.minTop1))
        }
        for entry in routing where entry.agreement < thresholds.minRouting {
            failures.append(String(format: "layer %d routes %.3f of tokens to the same expert, below %.3f",
                                   entry.layer, entry.agreement, thresholds.minRouting))
        }
    }

    public var json: JSON {
        func metrics(_ m: LogitMetrics) -> JSON {
            var fields: [(String, JSON)] = [
                ("positions", .int(m.positions)), ("logits_rel_l2", .double(m.relativeL2)), ("logits_max_abs", .double(m.maxAbs)),
                ("kl_mean", .double(m.meanKL)), ("kl_max", .double(m.klMax)), ("top1", .double(m.top1Agreement)),
                ("top5_overlap", .double(m.top5Agreement)), ("bit_identical", .bool(m.bitIdentical)),
            ]
            if let s = m.sourcePerplexity, let c = m.convertedPerplexity {
                fields += [("perplexity_source", .double(s)), ("perplexity_converted", .double(c))]
            }
            return .object(fields)
        }
        return .object([
            ("passed", .bool(passed)),
            ("policy", .string(thresholds == nil ? "bit-identical" : "thresholds")),
            ("thresholds", thresholds.map { t in
                .object([("max_kl", .double(t.maxMeanKL)), ("min_top1", .double(t.minTop1)), ("min_routing", .double(t.minRouting))])
            } ?? .null),
            ("failures", JSON(failures)),
            ("prefill", metrics(prefill)),
            ("decode", metrics(decode)),
            ("perplexity", all.sourcePerplexity.flatMap { s in all.convertedPerplexity.map { c in
                .object([("source", .double(s)), ("converted", .double(c)), ("tokens", .int(all.scoredTokens))])
            } } ?? .null),
            ("perplexity_by_text", .array(perplexityByText.map { text in
                .object([("text", .string(text.name)), ("sequences", .int(text.sequences)), ("tokens", .int(text.metrics.scoredTokens)),
                         ("source", .double(text.metrics.sourcePerplexity ?? .nan)),
                         ("converted", .double(text.metrics.convertedPerplexity ?? .nan))])
            })),
            ("routing_agreement", .double(routingAgreement)),
            ("sequences", .array(sequences.map { s in
                .object([("name", .string(s.name)), ("tokens", .int(s.length)), ("prefill", metrics(s.prefill)), ("decode", metrics(s.decode))])
            })),
            ("routing", .array(routing.map { .object([("layer", .int($0.layer)), ("agreement", .double($0.agreement))]) })),
            ("residuals", .array(residuals.map {
                .object([("layer", .int($0.layer)), ("kind", .string($0.kind)), ("rel_error", .double($0.relativeError))])
            })),
            ("largest_jump", jump.map { j in
                .object([("layer", .int(j.layer)), ("tensors", .array(j.tensors.map {
                    .object([("name", .string($0.name)), ("rel_rms", .double($0.relRMS))])
                }))])
            } ?? .null),
        ])
    }

    /// Perplexity over each text the check ran on (`VerificationSet`'s "text" and
    /// "calibration" sequences, named "text-0", "text-1", ...), prefill and decode positions
    /// together: a figure per text, since the texts differ from one run of the check to another.
    var perplexityByText: [(name: String, sequences: Int, metrics: LogitMetrics)] {
        var texts: [(name: String, sequences: Int, metrics: LogitMetrics)] = []
        for sequence in sequences {
            var metrics = sequence.prefill
            metrics.merge(sequence.decode)
            guard metrics.scoredTokens > 0 else { continue }
            let name = String(sequence.name[..<(sequence.name.lastIndex(of: "-") ?? sequence.name.endIndex)])
            if let at = texts.firstIndex(where: { $0.name == name }) {
                texts[at].sequences += 1
                texts[at].metrics.merge(metrics)
            } else {
                texts.append((name, 1, metrics))
            }
        }
        return texts
    }

    /// The report as people read it (see `text(of:)`).
    public var text: String { Self.text(of: json) }
}
