import ArgumentParser
import MoltCheckpoint
import MoltCore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a checkpoint: format, config, tensors and totals.",
        discussion: """
            Only the file's directory and its pickle or JSON header are read, so this is fast \
            at any size. Exits 2 when the weights do not match the config.
            """
    )

    @Argument(help: "A checkpoint directory, weights file or shard index.")
    var path: String

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    func run() throws {
        let checkpoint = try Checkpoint.open(path, configPath: config)
        let report = InspectReport(checkpoint)
        if json {
            try Terminal.printJSON(report)
        } else {
            print(report.text)
        }
        if !checkpoint.shapeProblems.isEmpty { throw ExitCode(2) }
    }
}

/// What `molt inspect` reports, in the field order of its JSON form.
struct InspectReport: Encodable {
    struct Config: Encodable {
        var num_layers: Int
        var mamba_moe_layers: [String]
        var hidden_size: Int
        var state_size: Int
        var conv_dimension: Int
        var expansion_factor: Int
        var ffn_hidden_size: Int
        var vocab_size: Int
        var vocab_rows: Int
        var dt_rank: Int
        var add_bias_linear: Bool
        var swiglu: Bool
    }

    struct Row: Encodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: Int
    }

    struct Totals: Encodable {
        var tensors: Int
        var parameters: Int
        var bytes: Int
        var expert_parameters: Int
        var expert_share: Double
    }

    var format: String
    var files: [String]
    var config: Config?
    var tensors: [Row]
    var totals: Totals
    var problems: [String]
    var warnings: [String]

    init(_ checkpoint: Checkpoint) {
        format = checkpoint.format.rawValue
        files = checkpoint.files
        config = checkpoint.config.map { c in
            Config(
                num_layers: c.layers.count,
                mamba_moe_layers: c.layers.map { if case .moe(let e) = $0 { String(e) } else { "r" } },
                hidden_size: c.hiddenSize, state_size: c.stateSize, conv_dimension: c.convDimension,
                expansion_factor: c.expansionFactor, ffn_hidden_size: c.ffnHiddenSize, vocab_size: c.vocabSize,
                vocab_rows: c.vocabRows, dt_rank: c.dtRank, add_bias_linear: c.addBiasLinear, swiglu: c.swiglu)
        }
        tensors = checkpoint.tensors.entries.map {
            Row(name: $0.name, dtype: $0.tensor.dtype.rawValue, shape: $0.tensor.shape, bytes: $0.tensor.byteCount)
        }
        let parameters = checkpoint.tensors.entries.reduce(0) { $0 + $1.tensor.count }
        let expert = checkpoint.tensors.entries.filter { TensorNames.isExpert($0.name) }.reduce(0) { $0 + $1.tensor.count }
        totals = Totals(
            tensors: tensors.count, parameters: parameters, bytes: tensors.reduce(0) { $0 + $1.bytes },
            expert_parameters: expert, expert_share: parameters == 0 ? 0 : Double(expert) / Double(parameters))
        problems = checkpoint.shapeProblems
        warnings = checkpoint.warnings
    }

    var text: String {
        var lines = ["format:  \(format)", "files:   \(files.joined(separator: ", "))"]
        if let c = config {
            lines.append("model:   BlackMamba, \(c.num_layers) layers: \(Self.pattern(c.mamba_moe_layers))")
            lines.append("         hidden \(c.hidden_size), inner \(c.expansion_factor * c.hidden_size), state \(c.state_size), "
                + "conv \(c.conv_dimension), dt rank \(c.dt_rank), ffn \(c.ffn_hidden_size)")
            lines.append("         vocab \(c.vocab_size) (\(c.vocab_rows) embedding rows), linear biases \(c.add_bias_linear ? "yes" : "no"), "
                + "gated experts \(c.swiglu ? "yes" : "no")")
        } else {
            lines.append("model:   unknown (no config.json)")
        }
        lines.append("")
        let rows = [["tensor", "dtype", "shape", "bytes"]]
            + tensors.map { [$0.name, $0.dtype, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", Formatting.count($0.bytes)] }
        lines.append(Formatting.table(rows, rightAligned: [3]))
        lines.append("")
        lines.append("total:   \(Formatting.count(totals.tensors)) tensors, \(Formatting.count(totals.parameters)) parameters, "
            + "\(Formatting.bytes(totals.bytes))")
        lines.append("experts: \(Formatting.count(totals.expert_parameters)) parameters "
            + "(\(String(format: "%.1f", totals.expert_share * 100))% of all)")
        lines += problems.map { "problem: \($0)" }
        lines += warnings.map { "warning: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// "r,8" repeated 15 times reads better as "15 × (r, 8)".
    static func pattern(_ layers: [String]) -> String {
        for period in 1...max(1, layers.count / 2) where layers.count % period == 0 {
            let unit = Array(layers[0..<period])
            if (0..<layers.count).allSatisfy({ layers[$0] == unit[$0 % period] }), layers.count / period > 1 {
                return "\(layers.count / period) × (\(unit.joined(separator: ", ")))"
            }
        }
        return layers.joined(separator: ", ")
    }
}
