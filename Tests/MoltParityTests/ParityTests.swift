import Foundation
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltKernels
import MoltParity
import MoltQuant
import MoltRuntime
import Testing

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private func source(_ fixture: String) throws -> Checkpoint {
    try Checkpoint.open(repository.appendingPathComponent("Fixtures/checkpoints/\(fixture)").path)
}

/// Converts `checkpoint` with `recipe` into a temporary .molt and opens it.
private func converted(_ checkpoint: Checkpoint, _ recipe: Recipe) throws -> MoltFile {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString).molt").path
    let output = try AtomicOutput(path: path, overwrite: false)
    let converter = try Converter(config: checkpoint.requireModel(), tensors: checkpoint.tensors.byName, recipe: recipe)
    _ = try converter.write(to: output, tokenizer: nil, tool: .init(name: "test", version: "0")) {
        MoltHeader.Provenance(created: "now", sources: [])
    }
    try output.commit()
    defer { unlink(path) }
    return try MoltFile(path: path)
}

@Test func quantizedKernelsAgreeWithDequantizedWeights() throws {
    let checkpoint = try source("b-zip-megatron")
    for (experts, embedding) in [(MoltTensorType.q8, MoltTensorType.f16), (.q4, .f16), (.q4, .q8)] {
        let file = try converted(checkpoint, try Recipe(experts: experts, mamba: .q8, embedding: embedding))
        let dense = try BlackMambaModel(config: file.config, tensors: file.runtimeTensors())
        let fast = try BlackMambaModel(molt: file)
        let tokens = [5, 17, 42, 0, 199, 3, 3, 3]
        let a = try dense.prefill(tokens).logits, b = try fast.prefill(tokens).logits
        let error = zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        let norm = a.reduce(0.0) { $0 + Double($1 * $1) }
        // q8/q4 matrix-vector products (decode, and experts one position chose) round their
        // activations to int16/int8; everything else agrees to f32 rounding.
        #expect(fast.quantizesDecodeActivations)
        let limit = SelfConsistency.tolerance(for: fast)
        #expect((error / norm).squareRoot() <= limit, "\(experts), \(embedding) embedding")
        let state = fast.makeState()
        var decoded: [Float] = []
        for t in tokens { decoded += try fast.decode(t, state: state) }
        let decodeError = zip(a, decoded).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        #expect((decodeError / norm).squareRoot() <= limit, "\(experts) decode")
    }
}

/// The source's side made for other sequences than the check's is refused, not misread.
@Test func aReferenceForOtherSequencesIsRefused() throws {
    let checkpoint = try source("a-zip-bare")
    let model = try BlackMambaModel(config: checkpoint.requireModel(), tensors: checkpoint.tensors.byName)
    let four = ParityCheck(sequences: VerificationSet.random(vocabSize: 256, count: 4, length: 8), thresholds: nil)
    let two = ParityCheck(sequences: VerificationSet.random(vocabSize: 256, count: 2, length: 8), thresholds: nil)
    let reference = try four.reference(model)
    let error = #expect(throws: MoltError.self) { try two.run(converted: model) { reference } }
    #expect(error?.kind == .usage && error?.message == "the source's side was run on 4 sequences, not 2")
}

@Test func identicalModelsAreBitIdenticalAndPass() throws {
    let checkpoint = try source("a-zip-bare")
    let model = try BlackMambaModel(config: checkpoint.requireModel(), tensors: checkpoint.tensors.byName)
    let report = try ParityCheck(sequences: VerificationSet.random(vocabSize: 256, count: 2, length: 8), thresholds: nil)
        .run(source: model, converted: model)
    #expect(report.passed)
    #expect(report.bitIdentical)
    #expect(report.meanKL == 0)
    #expect(report.top1 == 1)
    #expect(report.routingAgreement == 1)
}

@Test func aDamagedExpertFailsAndIsLocated() throws {
    let checkpoint = try source("b-zip-megatron")
    let config = try checkpoint.requireModel()
    var tensors = checkpoint.tensors.byName
    let name = TensorNames.expert(2, 0, "linear_fc2.weight")
    let values = try tensors[name]!.floatValues().map { $0 * -3 }
    tensors[name] = try Tensor(storage: values.withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: tensors[name]!.shape)
    let report = try ParityCheck(sequences: VerificationSet.random(vocabSize: config.vocabSize), thresholds: Thresholds())
        .run(source: BlackMambaModel(config: config, tensors: checkpoint.tensors.byName),
             converted: BlackMambaModel(config: config, tensors: tensors))
    #expect(!report.passed)
    // Before the damage only rounding differs (OpenBLAS sums f32 products in an order that
    // depends on the number of rows, and the source prefills rows the converted model decodes).
    #expect(report.residuals.first { $0.relativeError > 1e-5 }?.layer == 2)
    #expect(report.residuals.prefix(2).allSatisfy { $0.relativeError < 1e-6 })
    #expect(report.failures.contains { $0.contains("layer 2") })
}

@Test func verificationSequencesAreSeededAndInRange() {
    let a = VerificationSet.random(vocabSize: 100), b = VerificationSet.random(vocabSize: 100)
    #expect(a.map(\.tokens) == b.map(\.tokens))
    #expect(a.count == 4 && a.allSatisfy { $0.tokens.count == 32 })
    #expect(a.flatMap(\.tokens).allSatisfy { (0..<100).contains($0) })
    #expect(Set(a.map(\.tokens)).count == 4)
}
