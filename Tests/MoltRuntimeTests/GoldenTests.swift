import Foundation
import MoltCheckpoint
import MoltCore
import MoltRuntime
import Testing

/// What Scripts/make_golden.py recorded from the independent PyTorch reference for one
/// checkpoint (Fixtures/golden/README.md).
private struct GoldenSet: Decodable {
    struct Sequence: Decodable {
        struct Greedy: Decodable {
            var new_tokens: [Int]
        }
        var tokens: [Int]
        var logits_f64: String
        var greedy: Greedy
        var experts: [String: [Int]]
    }
    var checkpoint: String
    var sequences: [Sequence]
}

private let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func doubles(_ tensor: Tensor) -> [Double] {
    tensor.withContiguousBytes { raw in (0..<tensor.count).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) } }
}

@Test(arguments: ["a", "b", "a-bf16", "b-bf16"])
func matchesThePyTorchReference(_ name: String) throws {
    let golden = repository.appendingPathComponent("Fixtures/golden")
    let set = try JSONDecoder().decode(GoldenSet.self, from: Data(contentsOf: golden.appendingPathComponent("\(name).json")))
    let checkpoint = try Checkpoint.open(repository.appendingPathComponent(set.checkpoint).path)
    let model = try BlackMambaModel(config: checkpoint.requireModel(), tensors: checkpoint.tensors.byName)
    for (k, sequence) in set.sequences.enumerated() {
        let expected = try Npy.read(path: golden.appendingPathComponent(sequence.logits_f64).path)
        #expect(expected.dtype == .f64 && expected.shape == [sequence.tokens.count, model.vocabRows])
        let reference = doubles(expected)

        let state = model.makeState(), recorder = LayerRecorder()
        state.observer = recorder
        let logits = try model.prefill(sequence.tokens, state: state)
        let error = relativeL2(logits, reference)
        #expect(error <= 1e-5, "\(name) sequence \(k): prefill relative L2 \(error)")
        let experts = Dictionary(uniqueKeysWithValues: sequence.experts.map { (Int($0.key)!, $0.value) })
        #expect(recorder.routes == experts, "\(name) sequence \(k)")

        let stepper = model.makeState()
        var stepped: [Float] = []
        for id in sequence.tokens { stepped += try model.decode(id, state: stepper) }
        let stepError = relativeL2(stepped, reference)
        #expect(stepError <= 1e-5, "\(name) sequence \(k): decode relative L2 \(stepError)")

        var sampler = Sampler.greedy
        let continuation = try model.generate(prompt: sequence.tokens, maxNewTokens: sequence.greedy.new_tokens.count, sampler: &sampler)
        #expect(continuation == sequence.greedy.new_tokens, "\(name) sequence \(k)")
    }
}
