import Foundation
import MoltCore

/// A source checkpoint as a user holds it: weights in one of the torch or safetensors formats,
/// possibly sharded, plus the model config when one is found.
public struct Checkpoint: Sendable {
    public let format: SourceFormat
    /// The weight files read, in shard order.
    public let files: [String]
    public let tensors: TensorTable
    /// The BlackMamba config with dt rank and vocab rows taken from the weights; nil when no
    /// config.json was found (the weights are still readable, but shapes are unchecked).
    public let config: BlackMambaConfig?
    public let configPath: String?
    /// What a user should act on: another weights file beside the one read, no config.json.
    public let warnings: [String]
    /// What the reader walked past: ignored wrapper objects and entries, non-tensor entries.
    /// Normal in a Megatron checkpoint, so shown by `molt inspect` only, not on every command.
    public let ignored: [String]
    /// Ways the weights differ from what the config implies (empty when they match).
    public let shapeProblems: [String]

    /// Opens a directory, a weights file or a shard index. `configPath` overrides the
    /// config.json beside the weights. `verifyChecksums` checks the CRC of every zip entry,
    /// which reads every byte; without it only the directory and the pickle are read.
    public static func open(_ path: String, configPath: String? = nil, verifyChecksums: Bool = false) throws -> Checkpoint {
        let location = try CheckpointLocation.resolve(path, configPath: configPath)
        var ignored: [String] = []
        let format: SourceFormat
        let tensors: TensorTable
        if let (index, shards) = location.index {
            var table = TensorTable()
            var shardFormat: SourceFormat?
            for shard in shards.files {
                let file = try MappedFile(path: shard)
                let kind = try SourceFormat.sniff(file)
                guard shardFormat == nil || shardFormat == kind else {
                    throw MoltError.badInput("shard is \(kind.rawValue) but earlier shards are \(shardFormat!.rawValue)", file: shard)
                }
                shardFormat = kind
                let part = try readWeights(file, format: kind, verifyChecksums: verifyChecksums, warnings: &ignored)
                for (name, tensor) in part.entries {
                    guard shards.fileOf[name] == shard else {
                        throw MoltError.badInput("tensor \(quoted(name)) is not listed for this shard in \(index)", file: shard)
                    }
                    do { try table.insert(tensor, named: name) } catch let error as MoltError { throw error.within(shard) }
                }
            }
            for name in shards.order where table[name] == nil {
                throw MoltError.badInput("tensor \(quoted(name)) is listed in the index but not found in \(shards.fileOf[name]!)", file: index)
            }
            format = shardFormat == .safetensors ? .safetensorsSharded : .torchZipSharded
            tensors = table
        } else {
            let file = try MappedFile(path: location.weights[0])
            format = try SourceFormat.sniff(file)
            tensors = try readWeights(file, format: format, verifyChecksums: verifyChecksums, warnings: &ignored)
        }
        guard tensors.count > 0 else {
            throw MoltError.badInput("holds no tensors", file: location.weights.first ?? path)
        }

        var config: BlackMambaConfig?
        var problems: [String] = []
        if let configFile = location.config {
            let data = try MappedFile.contents(of: configFile, limit: BlackMambaConfig.maxFileSize)
            let shapes = tensors.byName.mapValues(\.shape)
            let resolved = try BlackMambaConfig.parse(json: data, file: configFile).resolved(shapes: shapes)
            problems = resolved.shapeProblems(shapes)
            config = resolved
        }
        return Checkpoint(
            format: format, files: location.weights, tensors: tensors, config: config, configPath: location.config,
            warnings: location.warnings, ignored: ignored, shapeProblems: problems)
    }

    /// Throws one error listing every shape problem, for commands that need a runnable model.
    public func requireModel() throws -> BlackMambaConfig {
        guard let config else {
            throw MoltError.badInput("no config.json beside the weights: pass --config", file: files.first)
        }
        guard shapeProblems.isEmpty else {
            throw MoltError.badInput(
                "does not match \(configPath ?? "config.json"): \(shapeProblems.count) problem(s): "
                    + shapeProblems.joined(separator: "; "), file: files.first)
        }
        return config
    }

    static func readWeights(
        _ file: MappedFile, format: SourceFormat, verifyChecksums: Bool, warnings: inout [String]
    ) throws -> TensorTable {
        switch format {
        case .safetensors:
            return try Safetensors.read(file).tensors
        case .torchZip:
            return try TorchZip.read(ZipArchive(file: file, verifyChecksums: verifyChecksums), warnings: &warnings)
        case .torchLegacy:
            return try StateDict.extract(from: TorchLegacy.read(file, warnings: &warnings), file: file.path, warnings: &warnings)
        case .torchZipSharded, .safetensorsSharded:
            throw MoltError.badInput("a shard index is JSON, not weights", file: file.path)
        }
    }
}
