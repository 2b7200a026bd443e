import Foundation
import ArgumentParser
import MoltCheckpoint
import MoltCore
import MoltFormat

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every tensor of a checkpoint or .molt file to one safetensors file.",
        discussion: """
            Names are kept; views are made contiguous; q8/q4 tensors of a .molt file are written \
            dequantized, as f32 unless --dtype says otherwise. The model's config.json (and the \
            tokenizer.json a .molt embeds) are written beside the output, so the directory is a \
            checkpoint Molt and other tools can read; a .molt's model metadata (name, license, \
            ...) goes into the safetensors header's metadata. Outputs are written under a temporary name \
            and renamed when complete, so an interrupted export leaves nothing behind.
            """
    )

    enum TargetType: String, ExpressibleByArgument, CaseIterable {
        case keep, f32, f16, bf16
    }

    @Argument(help: "A .molt file, a checkpoint directory, weights file or shard index.")
    var path: String

    @Option(name: .shortAndLong, help: "The safetensors file to write.")
    var output: String

    @Option(help: "Floating-point type of the output: keep, f32, f16 or bf16. Integer tensors are kept as they are.")
    var dtype: TargetType = .keep

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    @Flag(help: "Overwrite the output, config.json and tokenizer.json beside it, if they exist.")
    var force = false

    func run() throws {
        let tensors: TensorTable
        var beside: [(name: String, bytes: Data)] = []
        var metadata = ["format": "pt"]
        if MoltFile.looksLikeMolt(path: path) {
            let file = try MoltFile(path: path)
            if let warning = file.failedParityWarning { Terminal.warning(warning) }
            // safetensors' header metadata is a string map: the model's metadata fits as it is.
            for (key, value) in file.header.modelMetadata { metadata[key.rawValue] = value }
            try file.verifyChecksums()
            var table = TensorTable()
            for name in file.tensorNames { try table.insert(file.runtimeTensor(name), named: name) }
            tensors = table
            beside.append(("config.json", Data((file.config.json.serialized(indent: 2) + "\n").utf8)))
            if let name = file.header.tokenizer {
                let blob = try file.blob(name)
                beside.append(("tokenizer.json", withExtendedLifetime(blob) { Data(blob.bytes) }))
            }
        } else {
            let checkpoint = try Checkpoint.open(path, configPath: config, verifyChecksums: true)
            if let config = checkpoint.config {
                _ = try checkpoint.requireModel()
                beside.append(("config.json", Data((config.json.serialized(indent: 2) + "\n").utf8)))
            }
            for warning in checkpoint.warnings { Terminal.warning(warning) }
            tensors = checkpoint.tensors
        }
        let directory = (output as NSString).deletingLastPathComponent
        // One already there with the same bytes (another export of the model) is left alone.
        let extras = try beside.map { name, bytes in (directory.isEmpty ? name : directory + "/" + name, bytes) }
            .filter { path, bytes in FileManager.default.contents(atPath: path) != bytes }
            .map { path, bytes in (try AtomicOutput(path: path, overwrite: force), bytes) }
        let target: DType? = dtype == .keep ? nil : DType(rawValue: dtype.rawValue)
        let plan = tensors.entries.map { entry in
            let type = (target != nil && entry.tensor.dtype.isFloatingPoint) ? target! : entry.tensor.dtype
            return SafetensorsWriter.Entry(name: entry.name, dtype: type, shape: entry.tensor.shape)
        }
        let writer = try SafetensorsWriter(path: output, overwrite: force, tensors: plan, metadata: metadata)
        let sizes = plan.map { $0.shape.reduce($0.dtype.size, *) }
        var progress = Progress(total: sizes.reduce(0, +), label: "export")
        // Zip CRCs are checked on the other core while this one copies; a failure abandons the output.
        try tensors.verifyingIntegrity {
            for (index, (entry, planned)) in zip(tensors.entries, plan).enumerated() {
                try writer.append(entry.tensor.converted(to: planned.dtype))
                entry.tensor.releaseMappedPages()
                progress.advance(by: sizes[index])
            }
        }
        try writer.finish()
        for (output, bytes) in extras {
            try bytes.withUnsafeBytes { try output.write($0) }
            try output.commit()
        }
        progress.finish()
    }
}
