import ArgumentParser
import MoltCheckpoint
import Foundation
import MoltCore
import MoltFormat

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a checkpoint: format, config, tensors and totals.",
        discussion: """
            Of a checkpoint, only the file's directory and its pickle or JSON header are read, so \
            this is fast at any size. Of a .molt file, every checksum is checked as well (about \
            0.3 s per GB on a quiet machine; --no-check skips it), and a damaged file's report is followed by the \
            error. Exits 2 when the weights do not match the config or a checksum does not match.
            """
    )

    @Argument(help: "A .molt file, a checkpoint directory, weights file or shard index.")
    var path: String

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Flag(help: "Do not check a .molt file's checksums (reads only its header).")
    var noCheck = false

    func run() throws {
        if MoltFile.looksLikeMolt(path: path) {
            let file = try MoltFile(path: path)
            var damage: MoltError?
            if !noCheck {
                do { try file.verifyChecksums() } catch let error as MoltError { damage = error }
            }
            let report = MoltInspectReport(file: file, checksums: noCheck ? .notChecked : damage == nil ? .match : .mismatch)
            print(json ? report.json.serialized(indent: 2) : report.text)
            if let damage { throw damage }
            return
        }
        let checkpoint = try Checkpoint.open(path, configPath: config)
        let report = InspectReport(checkpoint)
        if json {
            print(report.json.serialized(indent: 2))
        } else {
            print(report.text)
        }
        if !checkpoint.shapeProblems.isEmpty { throw ExitCode(2) }
    }
}

/// What `molt inspect` reports about a source checkpoint.
struct InspectReport {
    let checkpoint: Checkpoint
    let parameters: Int
    let bytes: Int
    let expertParameters: Int

    init(_ checkpoint: Checkpoint) {
        self.checkpoint = checkpoint
        let entries = checkpoint.tensors.entries
        parameters = entries.reduce(0) { $0 + $1.tensor.count }
        bytes = entries.reduce(0) { $0 + $1.tensor.byteCount }
        expertParameters = entries.filter { TensorNames.isExpert($0.name) }.reduce(0) { $0 + $1.tensor.count }
    }

    var expertShare: Double { parameters == 0 ? 0 : Double(expertParameters) / Double(parameters) }

    var json: JSON {
        .object([
            ("format", .string(checkpoint.format.rawValue)),
            ("files", JSON(checkpoint.files)),
            ("config", checkpoint.config?.json ?? .null),
            ("tensors", .array(checkpoint.tensors.entries.map { name, tensor in
                .object([("name", .string(name)), ("dtype", .string(tensor.dtype.rawValue)),
                         ("shape", JSON(tensor.shape)), ("bytes", .int(tensor.byteCount))])
            })),
            ("totals", .object([
                ("tensors", .int(checkpoint.tensors.count)), ("parameters", .int(parameters)), ("bytes", .int(bytes)),
                ("expert_parameters", .int(expertParameters)), ("expert_share", .double(expertShare)),
            ])),
            ("problems", JSON(checkpoint.shapeProblems)),
            ("warnings", JSON(checkpoint.warnings)),
            ("ignored", JSON(checkpoint.ignored)),
        ])
    }

    var text: String {
        var lines = ["format:  \(checkpoint.format.rawValue)", "files:   \(checkpoint.files.joined(separator: ", "))"]
        if let c = checkpoint.config {
            let pattern = c.layers.map { if case .moe(let e) = $0 { String(e) } else { "r" } }
            lines.append("model:   BlackMamba, \(c.layers.count) layers: \(Self.pattern(pattern))")
            lines.append("         hidden \(c.hiddenSize), inner \(c.innerSize), state \(c.stateSize), "
                + "conv \(c.convDimension), dt rank \(c.dtRank), ffn \(c.ffnHiddenSize)")
            lines.append("         vocab \(c.vocabSize) (\(c.vocabRows) embedding rows), linear biases \(c.addBiasLinear ? "yes" : "no"), "
                + "gated experts \(c.swiglu ? "yes" : "no")")
        } else {
            lines.append("model:   unknown (no config.json)")
        }
        lines.append("")
        let rows = [["tensor", "dtype", "shape", "bytes"]]
            + checkpoint.tensors.entries.map { name, tensor in
                [name, tensor.dtype.rawValue, "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]",
                 Formatting.count(tensor.byteCount)]
            }
        lines.append(TextTable.render(rows, rightAligned: [3]))
        lines.append("")
        lines.append("total:   \(Formatting.count(checkpoint.tensors.count)) tensors, \(Formatting.count(parameters)) parameters, "
            + "\(Formatting.bytes(bytes))")
        lines.append("experts: \(Formatting.count(expertParameters)) parameters (\(String(format: "%.1f", expertShare * 100))% of all)")
        lines += checkpoint.shapeProblems.map { "problem: \($0)" }
        lines += checkpoint.warnings.map { "warning: \($0)" }
        // The readers' lines say "ignored object ..." to stand alone elsewhere.
        lines += checkpoint.ignored.map { "ignored: " + ($0.hasPrefix("ignored ") ? String($0.dropFirst("ignored ".count)) : $0) }
        return lines.joined(separator: "\n")
    }

    /// "r,8" repeated 15 times reads better as "15 × (r, 8)".
    static func pattern(_ layers: [String]) -> String {
        for period in 1...max(1, layers.count / 2) where layers.count % period == 0 && layers.count / period > 1 {
            if (0..<layers.count).allSatisfy({ layers[$0] == layers[$0 % period] }) {
                return "\(layers.count / period) × (\(layers[0..<period].joined(separator: ", ")))"
            }
        }
        return layers.joined(separator: ", ")
    }
}
