import Foundation
import MoltCore
import MoltQuant

/// Streams a model's tensors into a .molt file, one tensor at a time, in the canonical order
/// of `BlackMambaConfig.expectedTensors` (which keeps each expert's tensors together, as the
/// writer's page-aligned expert regions need).
public struct Converter {
    public let config: BlackMambaConfig
    public let tensors: [String: Tensor]
    public var recipe: Recipe
    /// Calibrated input statistics by tensor name, for the calibrated methods.
    public var statistics: [String: InputStatistics] = [:]
    /// What calibrated the quantizer (Formats/calibration.md), recorded in the header's recipe.
    public var calibration: JSON?
    /// What `--target-kl` did (Formats/calibration.md), recorded in the header's recipe.
    public var targetKL: JSON?

    public init(config: BlackMambaConfig, tensors: [String: Tensor], recipe: Recipe) throws {
        let problems = config.shapeProblems(tensors.mapValues(\.shape))
        guard problems.isEmpty else {
            throw MoltError.badInput("weights do not match the config: " + problems.joined(separator: "; "))
        }
        self.config = config
        self.tensors = tensors
        self.recipe = recipe
    }

    /// Tensors in the order they are written.
    public var ordered: [(name: String, tensor: Tensor)] {
        config.expectedTensors.map { ($0.name, tensors[$0.name]!) }
    }

    /// The type each tensor is stored as.
    public var storedTypes: [String: MoltTensorType] {
        Dictionary(uniqueKeysWithValues: ordered.map { ($0.name, recipe.type(of: $0.name, $0.tensor)) })
    }

    /// Stored bytes (before compression) × 8 over all parameters.
    public var bitsPerWeight: Double {
        var bytes = 0, parameters = 0
        for (name, tensor) in ordered {
            let type = recipe.type(of: name, tensor)
            if let quant = type.quantType,
               let layout = try? QuantLayout(type: quant, rows: tensor.shape[0], columns: tensor.shape[1], groupSize: recipe.groupSize) {
                bytes += layout.byteCount
            } else {
                bytes += tensor.count * (type.dtype?.size ?? 4)
            }
            parameters += tensor.count
        }
        return parameters > 0 ? Double(bytes) * 8 / Double(parameters) : 0
    }

    /// The header's `quantization` member: the recipe, every tensor's type, what calibrated it.
    public var quantizationRecord: JSON {
        recipe.json(
            calibration: calibration, types: ordered.map { ($0.name, recipe.type(of: $0.name, $0.tensor)) }, bitsPerWeight: bitsPerWeight,
            targetKL: targetKL)
    }

    /// Source bytes of all tensors, for progress reports.
    public var sourceBytes: Int { tensors.values.reduce(0) { $0 + $1.byteCount } }

    /// Writes every tensor (and the tokenizer, when given) and the trailer. `provenance` is
    /// asked for only once the tensors are written (hashes of the source can be computed
    /// meanwhile). `progress` hears after each tensor: tensors done and source bytes done.
    /// Each tensor's mapped pages are released once it is written, which keeps the resident
    /// memory small, unless `keepsSourceMapped` (when the source is read again right after, as
    /// verification does, and would only fault them back in).
    public func write(
        to sink: OutputSink, tokenizer: Data?, tool: MoltHeader.Tool, provenance: () throws -> MoltHeader.Provenance,
        keepsSourceMapped: Bool = false, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> MoltWriter {
        let writer = try MoltWriter(sink: sink)
        var bytesDone = 0
        for (index, (name, tensor)) in ordered.enumerated() {
            let type = recipe.type(of: name, tensor)
            do {
                try writer.append(
                    name, tensor, as: type, groupSize: recipe.groupSize, method: recipe.method, statistics: statistics[name],
                    compress: recipe.compressed.contains(Recipe.group(of: name)))
            } catch let error as MoltError {
                throw error.within("tensor \(name)")
            }
            if !keepsSourceMapped { tensor.releaseMappedPages() }
            bytesDone += tensor.byteCount
            progress(index + 1, bytesDone)
        }
        var tokenizerBlob: String?
        if let tokenizer {
            try tokenizer.withUnsafeBytes { _ = try writer.appendBlob("tokenizer.json", $0, compress: true) }
            tokenizerBlob = "tokenizer.json"
        }
        try writer.finish(MoltHeaderInfo(
            tool: tool, model: config, quantization: quantizationRecord, provenance: try provenance(), tokenizer: tokenizerBlob))
        return writer
    }
}
