import Foundation
import MoltCore
import MoltQuant
import MoltRuntime

/// What calibration measured on a source model (Formats/calibration.md): the input statistics
/// of every quantizable weight, per-expert token counts, and what it was measured on.
public struct CalibrationStatistics: Sendable {
    public struct Source: Sendable, Equatable {
        public struct File: Sendable, Equatable {
            public let name: String
            public let sha256: String
            public let size: Int
            public init(name: String, sha256: String, size: Int) {
                self.name = name
                self.sha256 = sha256
                self.size = size
            }
        }

        public let files: [File]

        public init(files: [File]) { self.files = files.sorted { $0.name < $1.name } }

        /// The one file's SHA-256, or that of the lines "<sha256>  <name>\n" of the files by name.
        public var sha256: String {
            if files.count == 1 { return files[0].sha256 }
            return Data(files.map { "\($0.sha256)  \($0.name)\n" }.joined().utf8).sha256Hex
        }
    }

    public struct ExpertCount: Sendable, Equatable {
        public let layer: Int
        public let expert: Int
        /// Tokens the router sent it.
        public let routedTokens: Int
        /// Whether the reservoir's rows were added (fewer routed tokens than the floor).
        public let filled: Bool
    }

    public var source: Source
    /// What was run: {"kind": "file", ...} or {"kind": "self-generated", ...}.
    public var text: JSON
    public var tokens: Int
    public var sequences: Int
    public var expertFloor: Int
    public var reservoirStride: Int
    public var hasGram: Bool
    /// In the source's tensor order.
    public var tensors: [(name: String, statistics: InputStatistics)]
    public var experts: [ExpertCount]

    public func statistics(of name: String) -> InputStatistics? { tensors.first { $0.name == name }?.statistics }

    /// `quantization.calibration` in a .molt header: what calibrated the file.
    public func record(statsSHA256: String?) -> JSON {
        .object([
            ("text", text), ("tokens", .int(tokens)), ("sequences", .int(sequences)),
            ("stats_sha256", statsSHA256.map(JSON.string) ?? .null),
            ("experts", .array(experts.map {
                .object([("layer", .int($0.layer)), ("expert", .int($0.expert)), ("routed_tokens", .int($0.routedTokens)),
                         ("filled", .bool($0.filled))])
            })),
        ])
    }
}

public enum Calibration {
    /// Experts the router sends fewer tokens than this get the reservoir's rows as well.
    public static let expertFloor = 64
    /// Rows each MoE layer's reservoir keeps, about.
    public static let reservoirRows = 256
    /// Longest sequence prefilled from a fresh state.
    public static let sequenceLength = 512

    /// Self-generated text: sequences decoded side by side, each this long.
    public static let selfGeneratedStarts = 8
    public static let selfGeneratedLength = 256
    public static let defaultSeed: UInt64 = 0x4D4F_4C54

    /// The 2-D weights a recipe may quantize: Mamba projections, experts, the embedding.
    public static func isQuantizable(_ name: String) -> Bool {
        if name == TensorNames.embedding { return true }
        if TensorNames.isExpert(name) { return name.hasSuffix("_fc1.weight") || name.hasSuffix("_fc2.weight") }
        return ["in_proj.weight", "out_proj.weight", "x_proj.weight", "dt_proj.weight"].contains { name.hasSuffix(".mixer." + $0) }
    }

    /// Runs `tokens` (split into sequences of at most `sequenceLength`, each from a fresh
    /// state) through the source and returns its statistics. `source` is asked for once the
    /// tokens have run, so that the source's files can be hashed meanwhile.
    public static func measure(
        config: BlackMambaConfig, tensors: [String: Tensor], source: @autoclosure () throws -> CalibrationStatistics.Source,
        tokens: [Int], text: JSON,
        gram: Bool, progress: (Int) -> Void = { _ in }
    ) throws -> CalibrationStatistics {
        guard !tokens.isEmpty else { throw MoltError.badInput("the calibration text gives no tokens") }
        let collector = StatisticsCollector(config: config, gram: gram, reservoirStride: max(1, tokens.count / reservoirRows))
        let model = try BlackMambaModel(config: config, tensors: tensors)
        let sequences = stride(from: 0, to: tokens.count, by: sequenceLength).map {
            Array(tokens[$0..<min($0 + sequenceLength, tokens.count)])
        }
        for sequence in sequences {
            try model.validate(tokens: sequence)
            let state = model.makeState()
            state.observer = collector
            _ = try model.prefill(sequence, state: state, logits: .last)
            progress(sequence.count)
        }
        return try finish(collector, model: model, source: try source(), text: text, tokens: tokens.count, sequences: sequences.count)
    }

    /// The source writes its own calibration text (Formats/calibration.md): `starts` sequences
    /// from seeded random ids, continued by sampling its own predictions, all decoded side by
    /// side while the statistics are recorded. `source` as for `measure`.
    public static func selfGenerated(
        config: BlackMambaConfig, tensors: [String: Tensor], source: @autoclosure () throws -> CalibrationStatistics.Source, seed: UInt64 = defaultSeed,
        starts: Int = selfGeneratedStarts, length: Int = selfGeneratedLength, gram: Bool, progress: (Int) -> Void = { _ in }
    ) throws -> CalibrationStatistics {
        let total = starts * length
        let collector = StatisticsCollector(config: config, gram: gram, reservoirStride: max(1, total / reservoirRows))
        let model = try BlackMambaModel(config: config, tensors: tensors)
        var random = SplitMix64(seed: seed)
        var sampler = try Sampler(temperature: 1, seed: seed)
        var next = random.tokens(starts, below: config.vocabSize)
        let states = (0..<starts).map { _ in model.makeState() }
        for state in states { state.observer = collector }
        for _ in 0..<length {
            let logits = try model.decode(next, states: states)
            next = logits.map { row in row.withUnsafeBufferPointer { sampler.sample(UnsafeBufferPointer(rebasing: $0[..<config.vocabSize])) } }
            progress(starts)
        }
        let text = JSON.object([
            ("kind", .string("self-generated")), ("seed", .int(Int(truncatingIfNeeded: seed))), ("starts", .int(starts)),
            ("length", .int(length)),
        ])
        return try finish(collector, model: model, source: try source(), text: text, tokens: total, sequences: starts)
    }

    /// Applies the floor rule to starved experts and collects the statistics in tensor order.
    static func finish(
        _ collector: StatisticsCollector, model: BlackMambaModel, source: CalibrationStatistics.Source, text: JSON, tokens: Int,
        sequences: Int
    ) throws -> CalibrationStatistics {
        let config = model.config, h = config.hiddenSize
        var experts: [CalibrationStatistics.ExpertCount] = []
        for (layer, kind) in config.layers.enumerated() {
            guard case .moe(let count) = kind else { continue }
            for e in 0..<count {
                let fc1 = TensorNames.expert(layer, e, "linear_fc1.weight"), fc2 = TensorNames.expert(layer, e, "linear_fc2.weight")
                let routed = collector.tokens(of: fc1)
                let reservoir = collector.reservoirs[layer] ?? []
                let filled = routed < expertFloor && !reservoir.isEmpty
                if filled {
                    // The reservoir through the expert, outside routing: statistics only.
                    let n = reservoir.count / h
                    let activations = try model.expertActivations(layer: layer, expert: e, rows: reservoir, count: n)
                    let f = activations.count / n
                    reservoir.withUnsafeBufferPointer { collector.add(fc1, rows: $0.baseAddress!, count: n, stride: h, columns: h) }
                    activations.withUnsafeBufferPointer { collector.add(fc2, rows: $0.baseAddress!, count: n, stride: f, columns: f) }
                }
                experts.append(.init(layer: layer, expert: e, routedTokens: routed, filled: filled))
            }
        }
        let shapes = Dictionary(uniqueKeysWithValues: config.expectedTensors.map { ($0.name, $0.shape) })
        let tensors = try config.expectedTensors.filter { $0.shape.count == 2 && isQuantizable($0.name) }.map { entry in
            let columns = shapes[entry.name]![1]
            let a = collector.accumulators[entry.name]
            let statistics = try InputStatistics(
                columns: columns, tokens: a?.tokens ?? 0, sumSquares: a?.sumSquares ?? [Double](repeating: 0, count: columns),
                secondMoment: collector.gram ? (a?.secondMoment ?? .rows([])) : nil)
            return (name: entry.name, statistics: statistics)
        }
        return CalibrationStatistics(
            source: source, text: text, tokens: tokens, sequences: sequences, expertFloor: expertFloor,
            reservoirStride: collector.reservoirStride, hasGram: collector.gram, tensors: tensors, experts: experts)
    }
}
