import MoltCore
@testable import MoltRuntime
import MoltKernels
import Testing

private func model(_ config: BlackMambaConfig, seed: UInt64 = 1, dtype: DType = .f32) throws -> BlackMambaModel {
    try BlackMambaModel(config: config, tensors: randomTensors(config, seed: seed, dtype: dtype))
}

@Test(arguments: testConfigs.indices)
func matchesTheScalarReference(_ index: Int) throws {
    let config = testConfigs[index]
    let tensors = randomTensors(config, seed: 7, tiedRouters: index == 0)
    var random = TestRandom(seed: 11)
    let tokens = random.tokens(13, below: config.vocabRows)
    let (logits, _) = try BlackMambaModel(config: config, tensors: tensors).prefill(tokens)
    let expected = try referenceLogits(config, tensors, tokens)
    for t in tokens.indices {
        let error = relativeL2(row(logits, t, width: config.vocabRows), expected[t])
        #expect(error <= 1e-5, "position \(t): relative L2 \(error)")
    }
}

@Test(arguments: testConfigs.indices)
func decodeStepByStepMatchesPrefill(_ index: Int) throws {
    let config = testConfigs[index], m = try model(config)
    var random = TestRandom(seed: 3)
    let tokens = random.tokens(20, below: config.vocabRows)
    let (all, _) = try m.prefill(tokens)
    let state = m.makeState()
    for (t, id) in tokens.enumerated() {
        let error = relativeL2(try m.decode(id, state: state), row(all, t, width: m.vocabRows))
        #expect(error <= 1e-5, "position \(t): relative L2 \(error)")
    }
    #expect(state.position == tokens.count)
}

@Test func prefillStateContinuesTheSequence() throws {
    let config = testConfigs[1], m = try model(config)
    var random = TestRandom(seed: 5)
    let tokens = random.tokens(17, below: config.vocabRows)
    let (all, _) = try m.prefill(tokens)
    let v = m.vocabRows

    let (_, state) = try m.prefill(Array(tokens[0..<9]))
    for t in 9..<tokens.count {
        #expect(relativeL2(try m.decode(tokens[t], state: state), row(all, t, width: v)) <= 1e-5)
    }

    let (_, split) = try m.prefill(Array(tokens[0..<5]))
    let rest = try m.prefill(Array(tokens[5...]), state: split)
    for t in 5..<tokens.count {
        #expect(relativeL2(row(rest, t - 5, width: v), row(all, t, width: v)) <= 1e-5)
    }
    let last = try m.prefill(tokens, logits: .last).logits
    #expect(relativeL2(last, row(all, tokens.count - 1, width: v)) <= 1e-5)
}

@Test func longPromptsRunInChunks() throws {
    let config = testConfigs[0], m = try model(config)
    var random = TestRandom(seed: 8)
    let tokens = random.tokens(BlackMambaModel.prefillChunk + 37, below: config.vocabRows)
    let (all, state) = try m.prefill(tokens)
    #expect(state.position == tokens.count)
    let stepped = m.makeState()
    for (t, id) in tokens.enumerated() {
        let error = relativeL2(try m.decode(id, state: stepped), row(all, t, width: m.vocabRows))
        #expect(error <= 1e-5, "position \(t): relative L2 \(error)")
    }
}

@Test func runsAreBitIdentical() throws {
    let config = testConfigs[0]
    var random = TestRandom(seed: 9)
    let tokens = random.tokens(40, below: config.vocabRows)
    let first = try model(config).prefill(tokens).logits
    let m = try model(config)
    #expect(try m.prefill(tokens).logits == first)
    let a = m.makeState(), b = m.makeState()
    for id in tokens { #expect(try m.decode(id, state: a) == m.decode(id, state: b)) }
}

@Test func halfPrecisionWeightsAreReadInPlace() throws {
    for dtype in [DType.bf16, .f16] {
        let config = testConfigs[1]
        let half = randomTensors(config, seed: 4, dtype: dtype)
        let widened = try half.mapValues { try $0.converted(to: .f32) }
        let fromHalf = try BlackMambaModel(config: config, tensors: half)
        let fromF32 = try BlackMambaModel(config: config, tensors: widened)
        // The embedding and every projection go to the kernels as stored; only norms, conv,
        // biases and the like (and -exp(A_log)) are widened.
        #expect(fromHalf.weights.embedding.packed?.element == (dtype == .bf16 ? .bf16 : .f16))
        let widenedValues = fromHalf.owned.reduce(0) { $0 + $1.count }
        let small = config.expectedTensors.filter { $0.shape.count != 2 || $0.name.hasSuffix("conv1d.weight") }
        #expect(widenedValues <= small.reduce(0) { $0 + $1.shape.reduce(1, *) } + config.innerSize * config.stateSize * 5)
        var random = TestRandom(seed: 2)
        let tokens = random.tokens(12, below: config.vocabRows)
        // The kernels widen exactly, but sum in another order than OpenBLAS.
        #expect(relativeL2(try fromHalf.prefill(tokens).logits, try fromF32.prefill(tokens).logits) <= 1e-5)
    }
}

@Test(arguments: [DType.f32, .bf16])
func batchedPrefillGivesEachSequenceItsOwnLogits(_ dtype: DType) throws {
    let config = testConfigs[0]
    let m = try BlackMambaModel(config: config, tensors: randomTensors(config, seed: 12, dtype: dtype))
    var random = TestRandom(seed: 13)
    // Long enough that chunks end inside sequences, and a one-token sequence among them.
    let batch = [300, 1, 290, 40].map { random.tokens($0, below: config.vocabRows) }
    let states = batch.map { _ in m.makeState() }
    let routes = states.map(recordRoutes)
    let together = try m.prefill(batch, states: states)
    let lasts = try m.prefill(batch, states: batch.map { _ in m.makeState() }, logits: .last)
    for (k, tokens) in batch.enumerated() {
        let alone = m.makeState()
        let aloneRoutes = recordRoutes(alone)
        let logits = try m.prefill(tokens, state: alone)
        #expect(states[k].position == tokens.count && routes[k].routes == aloneRoutes.routes, "sequence \(k)")
        // Rounding only: a product's summation order may depend on its number of rows.
        #expect(relativeL2(together[k], logits) <= 1e-6, "sequence \(k)")
        #expect(relativeL2(lasts[k], row(logits, tokens.count - 1, width: m.vocabRows)) <= 1e-6, "sequence \(k)")
    }
    let twice = #expect(throws: MoltError.self) { try m.prefill(batch, states: [states[0], states[0], states[1], states[2]]) }
    #expect(twice?.kind == .usage && twice?.message == "the same decode state was given for two sequences")
    let short = #expect(throws: MoltError.self) { try m.prefill(batch, states: Array(states.prefix(3))) }
    #expect(short?.kind == .usage && short?.message == "4 sequences given with 3 states")
    #expect(twice?.reason == .stateGivenTwice && short?.reason == .statesDoNotMatchBatch)
}

@Test(arguments: [DType.f32, .bf16])
func batchedDecodeGivesEachSequenceItsOwnBits(_ dtype: DType) throws {
    let config = testConfigs[0]
    let m = try BlackMambaModel(config: config, tensors: randomTensors(config, seed: 14, dtype: dtype))
    var random = TestRandom(seed: 15)
    let prompts = [5, 1, 9].map { random.tokens($0, below: config.vocabRows) }
    let steps = (0..<4).map { _ in random.tokens(prompts.count, below: config.vocabRows) }
    let together = prompts.map { _ in m.makeState() }, alone = prompts.map { _ in m.makeState() }
    let togetherRoutes = together.map(recordRoutes), aloneRoutes = alone.map(recordRoutes)
    // Prefilled one by one: a batched prefill matches these only to rounding.
    for (prompt, state) in zip(prompts + prompts, together + alone) { _ = try m.prefill(prompt, state: state) }
    for tokens in steps {
        let batched = try m.decode(tokens, states: together)
        for k in prompts.indices {
            #expect(batched[k].map(\.bitPattern) == (try m.decode(tokens[k], state: alone[k])).map(\.bitPattern), "sequence \(k)")
        }
    }
    for k in prompts.indices {
        #expect(together[k].position == alone[k].position && togetherRoutes[k].routes == aloneRoutes[k].routes, "sequence \(k)")
    }
    let twice = #expect(throws: MoltError.self) { try m.decode([1, 2], states: [together[0], together[0]]) }
    #expect(twice?.kind == .usage && twice?.message == "the same decode state was given for two sequences")
    let short = #expect(throws: MoltError.self) { try m.decode([1, 2], states: [together[0]]) }
    #expect(short?.kind == .usage && short?.message == "2 sequences given with 1 states")
}

/// A model on kernel threads of its own computes what one on the shared threads does.
@Test func ownKernelThreadsChangeNoBit() throws {
    let config = testConfigs[0]
    let tensors = randomTensors(config, seed: 16, dtype: .bf16)
    let shared = try BlackMambaModel(config: config, tensors: tensors)
    let own = try BlackMambaModel(config: config, tensors: tensors, kernels: KernelThreads(count: 1))
    var random = TestRandom(seed: 17)
    let tokens = random.tokens(30, below: config.vocabRows)
    #expect(try own.prefill(tokens).logits.map(\.bitPattern) == shared.prefill(tokens).logits.map(\.bitPattern))
}

@Test func f32WeightsAreReadInPlace() throws {
    let config = testConfigs[0]
    let tensors = randomTensors(config, seed: 1)
    let m = try BlackMambaModel(config: config, tensors: tensors)
    let mambaLayers = config.layers.filter { $0 == .mamba }.count
    // Only -exp(A_log) is computed at bind time; every other tensor is used where it lies.
    #expect(m.owned.count == mambaLayers)
    #expect(m.retained.count == tensors.count - mambaLayers)
    #expect(UnsafeRawPointer(m.weights.embedding.base) == tensors[TensorNames.embedding]!.storage.bytes.baseAddress)
}

@Test func stridedWeightsAreCopiedInRowMajorOrder() throws {
    let config = testConfigs[2]
    var tensors = randomTensors(config, seed: 6)
    let embedding = try tensors[TensorNames.embedding]!.floatValues()
    let (v, h) = (config.vocabRows, config.hiddenSize)
    // The same [V, H] values as a transposed view of an [H, V] buffer.
    let transposed = (0..<h * v).map { Double(embedding[($0 % v) * h + $0 / v]) }
    let view = try Tensor(storage: tensor(transposed, shape: [h, v]).storage, dtype: .f32, shape: [v, h], strides: [1, v])
    let tokens = [1, 5, 9, 2]
    let expected = try BlackMambaModel(config: config, tensors: tensors).prefill(tokens).logits
    tensors[TensorNames.embedding] = view
    #expect(try BlackMambaModel(config: config, tensors: tensors).prefill(tokens).logits == expected)
}

@Test func refusesTokenIdsOutsideTheVocabulary() throws {
    let m = try model(testConfigs[0])
    let cases: [([Int], String)] = [
        ([], "no token ids"),
        ([1, 2, -1], "token id -1 at position 2"),
        ([3, 48], "token id 48 at position 1"),
    ]
    for (tokens, fragment) in cases {
        let error = #expect(throws: MoltError.self) { try m.prefill(tokens) }
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }
    let (_, state) = try m.prefill([1, 2, 3])
    let error = #expect(throws: MoltError.self) { try m.decode(1000, state: state) }
    #expect(error?.message.contains("token id 1000 at position 3") == true)
    #expect(error?.reason == .tokenOutOfVocabulary)
    #expect(state.position == 3)
}

@Test func recordsTheChosenExperts() throws {
    let config = testConfigs[0]
    let m = try BlackMambaModel(config: config, tensors: randomTensors(config, seed: 3, tiedRouters: true))
    let state = m.makeState()
    _ = try m.prefill([1, 2], state: state)
    let recorder = recordRoutes(state)
    _ = try m.prefill([3, 4, 5], state: state)
    _ = try m.decode(6, state: state)
    // Tied routers send every position to expert 0, the lower of the two equal winners.
    #expect(recorder.routes == [1: [0, 0, 0, 0], 3: [0, 0, 0, 0]])
}

@Test func refusesStatesOfAnotherModel() throws {
    let a = try model(testConfigs[0]), b = try model(testConfigs[0])
    let error = #expect(throws: MoltError.self) { try a.decode(1, state: b.makeState()) }
    #expect(error?.kind == .usage)
}

@Test func listsEveryTensorProblem() throws {
    let config = testConfigs[0]
    var tensors = randomTensors(config, seed: 1)
    tensors.removeValue(forKey: TensorNames.norm(2))
    tensors[TensorNames.mamba(0, "D")] = tensor([1, 2], shape: [2])
    tensors["extra"] = tensor([1], shape: [1])
    let error = #expect(throws: MoltError.self) { try BlackMambaModel(config: config, tensors: tensors) }
    #expect(error?.kind == .badInput)
    for fragment in ["3 problems", "missing tensor \(TensorNames.norm(2))", "\(TensorNames.mamba(0, "D")) has shape [2]", "unexpected tensor extra"] {
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }
}

@Test func greedyGenerationFollowsTheArgmax() throws {
    let config = testConfigs[0], m = try model(config)
    let prompt = [3, 1, 4, 1, 5]
    var sampler = Sampler.greedy
    var seen: [Int] = []
    let generated = try m.generate(prompt: prompt, maxNewTokens: 8, sampler: &sampler) { seen.append($0); return true }
    #expect(generated.count == 8 && seen == generated)
    // Each token is the argmax over the real vocabulary after everything before it.
    let all = try m.prefill(prompt + generated).logits
    for (i, token) in generated.enumerated() {
        let logits = row(all, prompt.count - 1 + i, width: m.vocabRows)
        #expect(token == logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }! - logits.startIndex)
    }
}

/// Records the input rows of every weight product an observer is shown, per weight.
private final class ProductRecorder: ForwardObserver {
    var inputs: [String: [Float]] = [:]
    var calls: [String: Int] = [:]

    func multiplying(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int) {
        calls[weight, default: 0] += 1
        for r in 0..<count { inputs[weight, default: []] += UnsafeBufferPointer(start: rows + r * stride, count: columns) }
    }
}

@Test func observersSeeTheProductInputsOfTheirOwnSequences() throws {
    let config = testConfigs[0], m = try model(config, seed: 16)
    var random = TestRandom(seed: 17)
    let prompts = [3, 1, 4].map { random.tokens($0, below: config.vocabRows) }
    let steps = (0..<3).map { _ in random.tokens(prompts.count, below: config.vocabRows) }
    let together = prompts.map { _ in m.makeState() }, alone = prompts.map { _ in m.makeState() }
    for (prompt, state) in zip(prompts + prompts, together + alone) { _ = try m.prefill(prompt, state: state) }
    // The first two sequences share an observer, the third has its own; alone, each has one.
    let shared = ProductRecorder(), own = ProductRecorder(), aloneRecorders = alone.map { _ in ProductRecorder() }
    for (state, observer) in zip(together + alone, [shared, shared, own] + aloneRecorders) { state.observer = observer }
    for tokens in steps {
        _ = try m.decode(tokens, states: together)
        for k in prompts.indices { _ = try m.decode(tokens[k], state: alone[k]) }
    }
    // A batched decode step computes each sequence's bits, experts' gathered rows included.
    #expect(own.inputs.mapValues { $0.map(\.bitPattern) } == aloneRecorders[2].inputs.mapValues { $0.map(\.bitPattern) })
    for (weight, values) in shared.inputs {
        #expect(values.count == (aloneRecorders[0].inputs[weight]?.count ?? 0) + (aloneRecorders[1].inputs[weight]?.count ?? 0), "\(weight)")
    }
    #expect(Set(shared.inputs.keys) == Set(aloneRecorders[0].inputs.keys).union(aloneRecorders[1].inputs.keys))
    // Consecutive sequences sharing an observer come in one call per product.
    #expect(shared.calls[TensorNames.embedding] == steps.count && own.calls[TensorNames.embedding] == steps.count)
}

@Test func samplingIsReproducibleAndStopsOnRequest() throws {
    let m = try model(testConfigs[1])
    func run(seed: UInt64) throws -> [Int] {
        var sampler = try Sampler(temperature: 1.5, topK: 20, topP: 0.95, seed: seed)
        return try m.generate(prompt: [1, 2, 3], maxNewTokens: 30, sampler: &sampler)
    }
    #expect(try run(seed: 1) == run(seed: 1))
    #expect(try run(seed: 1) != run(seed: 2))
    var sampler = try Sampler(seed: 3)
    let stopped = try m.generate(prompt: [1], maxNewTokens: 30, sampler: &sampler) { _ in false }
    #expect(stopped.count == 1)
    #expect(try m.generate(prompt: [1], maxNewTokens: 0, sampler: &sampler).isEmpty)
}

/// Installs a recorder of the experts chosen for `state`'s positions from now on.
private func recordRoutes(_ state: DecodeState) -> LayerRecorder {
    let recorder = LayerRecorder()
    state.observer = recorder
    return recorder
}
