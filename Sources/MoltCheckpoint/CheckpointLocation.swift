import Foundation
import MoltCore

/// Where a checkpoint's pieces are: the weights (or a shard index) and config.json.
struct CheckpointLocation {
    var weights: [String]
    /// The shard index and its path, when the weights are sharded.
    var index: (path: String, shards: ShardIndex)?
    var config: String?
    var warnings: [String] = []

    /// Names looked for in a directory, most preferred first: safetensors can be validated
    /// completely before use, so it wins when both are present.
    static let candidates = [
        "model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin",
    ]

    static func resolve(_ path: String, configPath: String?) throws -> CheckpointLocation {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MoltError(.io, "\(path): no such file or directory")
        }
        let directory: String
        var weightsPath: String
        var warnings: [String] = []
        if isDirectory.boolValue {
            directory = path
            let present = candidates.filter { FileManager.default.fileExists(atPath: join(path, $0)) }
            guard let chosen = try present.first ?? onlyWeightsFile(in: path) else {
                throw MoltError.badInput(
                    "no weights found (looked for \(candidates.joined(separator: ", ")), or a single *.safetensors, *.bin or *.pt)",
                    file: path)
            }
            weightsPath = join(path, chosen)
            for other in present.dropFirst() where !chosen.hasPrefix(other) && !other.hasPrefix(chosen) {
                warnings.append("\(other) also present; read \(chosen)")
            }
        } else {
            directory = (path as NSString).deletingLastPathComponent
            weightsPath = path
        }
        var config = configPath
        if config == nil {
            let beside = join(directory.isEmpty ? "." : directory, "config.json")
            if FileManager.default.fileExists(atPath: beside) { config = beside }
        }
        if config == nil { warnings.append("no config.json found: tensor shapes are not checked (use --config)") }
        if weightsPath.hasSuffix(".index.json") {
            let shards = try ShardIndex.read(weightsPath)
            return CheckpointLocation(
                weights: shards.files, index: (weightsPath, shards), config: config, warnings: warnings)
        }
        return CheckpointLocation(weights: [weightsPath], index: nil, config: config, warnings: warnings)
    }

    /// Suffixes of weights files under other names (`bf16_pytorch_model.bin`, `model.pt`).
    static let weightsSuffixes = [".safetensors", ".bin", ".pt", ".pth"]

    /// The one weights file in `directory` when none has a standard name; nil when there is
    /// none, and an error listing them when several could be meant.
    static func onlyWeightsFile(in directory: String) throws -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { name in
            !name.hasPrefix(".") && weightsSuffixes.contains { name.hasSuffix($0) }
                && !FileManager.default.isDirectory(join(directory, name))
        }.sorted()
        guard names.count <= 1 else {
            throw MoltError.badInput(
                "several weights files and none with a standard name: \(names.joined(separator: ", ")); name the one to read", file: directory)
        }
        return names.first
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

/// A `*.index.json` of a sharded checkpoint: which file holds each tensor.
struct ShardIndex {
    /// Far above the ~100 KB index of a 100k-tensor model; bounds what parsing may allocate.
    static let maxFileSize = 64 << 20
    /// Shard paths, sorted: Hugging Face numbers them model-00001-of-0000N.
    var files: [String]
    var fileOf: [String: String]
    /// Tensor names in the index's order.
    var order: [String]

    static func read(_ path: String) throws -> ShardIndex {
        let data = try MappedFile.contents(of: path, limit: maxFileSize)
        let root = try data.withUnsafeBytes { bytes in
            guard String(validating: bytes, as: UTF8.self) != nil else { throw MoltError.badInput("not valid UTF-8", file: path) }
            return try JSON.parse(strict: bytes) { MoltError.badInput($0, file: path, offset: $1) }
        }
        guard case .object(let map)? = root["weight_map"] else {
            throw MoltError.badInput("not a shard index: expected a JSON object with a 'weight_map' object", file: path)
        }
        let directory = (path as NSString).deletingLastPathComponent
        var files: [String] = []
        var fileOf: [String: String] = [:]
        for (name, value) in map {
            guard case .string(let file) = value, !file.isEmpty, !file.contains("/"), file != "..", file != "." else {
                throw MoltError.badInput("weight_map entry \(quoted(name)) must name a file beside the index", file: path)
            }
            let shard = CheckpointLocation.join(directory.isEmpty ? "." : directory, file)
            if !files.contains(shard) { files.append(shard) }
            fileOf[name] = shard
        }
        guard !files.isEmpty else { throw MoltError.badInput("weight_map is empty", file: path) }
        return ShardIndex(files: files.sorted(), fileOf: fileOf, order: map.map(\.0))
    }
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
