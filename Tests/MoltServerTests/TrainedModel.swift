import Foundation
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltRuntime
import MoltServer
import MoltTokenizer

/// The bundled trained fixture (8 layers, 4096-token BPE vocabulary), loaded once for all tests.
enum TrainedModel {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/trained")

    static let loaded: LoadedModel = {
        let checkpoint = try! Checkpoint.open(directory.path)
        let model = try! BlackMambaModel(config: checkpoint.requireModel(), tensors: checkpoint.tensors.byName)
        let tokenizer = try! Tokenizer(path: directory.appendingPathComponent("tokenizer.json").path)
        return LoadedModel(model: model, tokenizer: tokenizer)
    }()

    /// The fixture converted as `molt convert --experts q4 --mamba q4 --embedding q8` converts it,
    /// run from the .molt as `molt generate` runs one: q4 weights read in place, decode
    /// activations rounded to int8.
    static let q4: LoadedModel = {
        let checkpoint = try! Checkpoint.open(directory.path)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("serve-q4-\(UUID().uuidString).molt").path
        let output = try! AtomicOutput(path: path, overwrite: false)
        let recipe = try! Recipe(experts: .q4, mamba: .q4, embedding: .q8)
        let converter = try! Converter(config: checkpoint.requireModel(), tensors: checkpoint.tensors.byName, recipe: recipe)
        _ = try! converter.write(to: output, tokenizer: nil, tool: .init(name: "test", version: "0")) {
            MoltHeader.Provenance(created: "now", sources: [])
        }
        try! output.commit()
        defer { unlink(path) }  // the mapping outlives the name
        return LoadedModel(model: try! BlackMambaModel(molt: try! MoltFile(path: path)), tokenizer: tokenizer)
    }()

    static var model: BlackMambaModel { loaded.model }
    static var tokenizer: Tokenizer { loaded.tokenizer }

    /// What `molt generate` prints: the greedy continuation from the runtime alone.
    static func greedy(_ prompt: [Int], _ n: Int, on model: BlackMambaModel = model) throws -> [Int] {
        var sampler = Sampler.greedy
        return try model.generate(prompt: prompt, maxNewTokens: n, sampler: &sampler)
    }

    /// Prompts of assorted lengths, from text so they look like what clients send.
    static let prompts: [[Int]] = [
        "def fibonacci(n):", "import numpy as np\n", "class Stack:\n    def __init__(self):", "# A function that",
        "for i in range(10):", "x = [", "def add(a, b):\n    return", "print(", "while True:\n",
    ].map { tokenizer.encode($0) }
}

/// Everything a stream reported: its tokens and how it ended.
func collect(_ stream: GenerationStream) async -> (tokens: [Int], finish: FinishReason?) {
    var tokens: [Int] = [], finish: FinishReason?
    for await event in stream.events {
        switch event {
        case .token(let id): tokens.append(id)
        case .finished(let reason): finish = reason
        }
    }
    return (tokens, finish)
}
