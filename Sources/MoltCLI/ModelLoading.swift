import Foundation
import ArgumentParser
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltRuntime

/// Options every command that runs a model shares.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: a .molt file, a checkpoint directory, weights file or shard index.")
    var model: String

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    /// Binds the weights of a .molt file (quantized tensors dequantized) or of a source
    /// checkpoint, whose zip CRCs are checked on the other core while bf16 weights are widened.
    func load() throws -> BlackMambaModel {
        if MoltFile.looksLikeMolt(path: model) {
            guard config == nil else { throw MoltError(.usage, "--config applies to source checkpoints; a .molt file holds its config") }
            let file = try MoltFile(path: model)
            return try BlackMambaModel(config: file.config, tensors: file.runtimeTensors())
        }
        let checkpoint = try Checkpoint.open(model, configPath: config, verifyChecksums: true)
        let modelConfig = try checkpoint.requireModel()
        return try checkpoint.tensors.verifyingIntegrity {
            try BlackMambaModel(config: modelConfig, tensors: checkpoint.tensors.byName)
        }
    }
}

/// A comma-separated list of token ids, as `--tokens 5,17,42`.
struct TokenList: ExpressibleByArgument {
    var ids: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if parts == [""] {
            ids = []
            return
        }
        var ids: [Int] = []
        for part in parts {
            guard let id = Int(part) else { return nil }
            ids.append(id)
        }
        self.ids = ids
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
