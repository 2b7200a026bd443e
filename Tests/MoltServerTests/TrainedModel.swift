import Foundation
import MoltCheckpoint
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

    static var model: BlackMambaModel { loaded.model }
    static var tokenizer: Tokenizer { loaded.tokenizer }

    /// What `molt generate` prints: the greedy continuation from the runtime alone.
    static func greedy(_ prompt: [Int], _ n: Int) throws -> [Int] {
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
