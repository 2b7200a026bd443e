/// State-dict keys of a BlackMamba checkpoint and the shape each must have.
public enum TensorNames {
    public static let embedding = "embedding.word_embeddings.weight"
    public static let finalNormWeight = "decoder.final_layernorm.weight"
    public static let finalNormBias = "decoder.final_layernorm.bias"
    public static let outputBias = "output_layer.bias"

    public static func norm(_ layer: Int) -> String { "decoder.layers.\(layer).norm.weight" }
    public static func mamba(_ layer: Int, _ suffix: String) -> String { "decoder.layers.\(layer).mixer.\(suffix)" }
    public static func router(_ layer: Int, _ suffix: String) -> String { "decoder.layers.\(layer).mixer.router.\(suffix)" }
    public static func expert(_ layer: Int, _ expert: Int, _ suffix: String) -> String {
        "decoder.layers.\(layer).mixer.local_experts.\(expert).\(suffix)"
    }

    /// True for a tensor that belongs to an expert (the bulk of the bytes).
    public static func isExpert(_ name: String) -> Bool { name.contains(".local_experts.") }
}

extension BlackMambaConfig {
    /// Every tensor the config implies, in state-dict order, with its shape.
    public var expectedTensors: [(name: String, shape: [Int])] {
        let h = hiddenSize, di = innerSize, n = stateSize, f = ffnHiddenSize
        var out: [(String, [Int])] = [(TensorNames.embedding, [vocabRows, h])]
        for (i, layer) in layers.enumerated() {
            out.append((TensorNames.norm(i), [h]))
            switch layer {
            case .mamba:
                out.append((TensorNames.mamba(i, "in_proj.weight"), [2 * di, h]))
                if addBiasLinear { out.append((TensorNames.mamba(i, "in_proj.bias"), [2 * di])) }
                out.append((TensorNames.mamba(i, "conv1d.weight"), [di, 1, convDimension]))
                out.append((TensorNames.mamba(i, "conv1d.bias"), [di]))
                out.append((TensorNames.mamba(i, "x_proj.weight"), [dtRank + 2 * n, di]))
                out.append((TensorNames.mamba(i, "dt_proj.weight"), [di, dtRank]))
                out.append((TensorNames.mamba(i, "dt_proj.bias"), [di]))
                out.append((TensorNames.mamba(i, "A_log"), [di, n]))
                out.append((TensorNames.mamba(i, "D"), [di]))
                out.append((TensorNames.mamba(i, "out_proj.weight"), [h, di]))
                if addBiasLinear { out.append((TensorNames.mamba(i, "out_proj.bias"), [h])) }
            case .moe(let experts):
                out.append((TensorNames.router(i, "weight"), [experts, h]))
                out.append((TensorNames.router(i, "bias"), [experts]))
                let fc1Rows = swiglu ? 2 * f : f
                for e in 0..<experts {
                    out.append((TensorNames.expert(i, e, "linear_fc1.weight"), [fc1Rows, h]))
                    if addBiasLinear { out.append((TensorNames.expert(i, e, "linear_fc1.bias"), [fc1Rows])) }
                    out.append((TensorNames.expert(i, e, "linear_fc2.weight"), [h, f]))
                    if addBiasLinear { out.append((TensorNames.expert(i, e, "linear_fc2.bias"), [h])) }
                }
            }
        }
        out.append((TensorNames.finalNormWeight, [h]))
        out.append((TensorNames.finalNormBias, [h]))
        if addBiasLinear { out.append((TensorNames.outputBias, [vocabRows])) }
        return out
    }

    /// Every way `shapes` differs from what the config implies: missing, unexpected and
    /// mis-shaped tensors, each by name. Empty when the checkpoint matches.
    public func shapeProblems(_ shapes: [String: [Int]]) -> [String] {
        var problems: [String] = []
        var expectedNames = Set<String>()
        for (name, shape) in expectedTensors {
            expectedNames.insert(name)
            guard let actual = shapes[name] else {
                problems.append("missing tensor \(name) \(shape)")
                continue
            }
            if actual != shape { problems.append("tensor \(name) has shape \(actual), expected \(shape)") }
        }
        for name in shapes.keys.sorted() where !expectedNames.contains(name) {
            problems.append("unexpected tensor \(name) \(shapes[name]!)")
        }
        return problems
    }
}
