import MoltCore

/// Finds the weights in what a torch file's pickle describes: the `model` entry of a Megatron
/// wrapper, or a bare state dict; nested dicts (Megatron-LM's `language_model.embedding...`)
/// are flattened into dotted names and mapped onto BlackMamba's. Formats/checkpoints.md.
public enum StateDict {
    /// Deeper nesting than any real module tree; also what ends a dict that contains itself.
    public static let maxNesting = 32

    public static func extract(from root: PickleValue, file: String, warnings: inout [String]) throws -> TensorTable {
        guard let top = root.asDict else {
            throw MoltError.badInput("holds no tensors: the top-level object is \(root.kind), not a dict", file: file)
        }
        var stateDict = top
        if let model = top["model"] {
            guard let dict = model.asDict else {
                throw MoltError.badInput("the wrapper's 'model' entry is \(model.kind), not a state dict", file: file)
            }
            stateDict = dict
            let others = top.entries.compactMap { $0.key.asString }.filter { $0 != "model" }.map { quoted($0) }
            if !others.isEmpty { warnings.append("ignored wrapper entries: \(others.joined(separator: ", "))") }
        } else if top["model0"] != nil {
            throw MoltError.unsupported("a pipeline-parallel checkpoint (model0, model1, ...): merge the stages first", file: file)
        }

        var tensors: [(name: String, tensor: Tensor)] = []
        var skipped: [String] = []
        try flatten(stateDict, prefix: "", depth: 0, file: file, into: &tensors, skipped: &skipped)
        if !skipped.isEmpty { warnings.append("skipped non-tensor entries: \(skipped.joined(separator: ", "))") }
        var table = TensorTable()
        for (name, tensor) in megatronToBlackMamba(tensors) { try table.insert(tensor, named: name) }
        guard table.count > 0 else { throw MoltError.badInput("holds no tensors", file: file) }
        return table
    }

    /// Tensors of `dict` and of the dicts inside it, named by their key paths joined with
    /// dots (as `nn.Module.state_dict` names them), in file order.
    private static func flatten(
        _ dict: PickleDict, prefix: String, depth: Int, file: String,
        into tensors: inout [(name: String, tensor: Tensor)], skipped: inout [String]
    ) throws {
        guard depth < maxNesting else {
            throw MoltError.badInput("state dict nested deeper than \(maxNesting) dicts at \(quoted(prefix))", file: file)
        }
        for (index, entry) in dict.entries.enumerated() {
            guard let key = entry.key.asString else {
                throw MoltError.badInput("state dict key #\(index)\(prefix.isEmpty ? "" : " in \(quoted(prefix))") is \(entry.key.kind), not a string", file: file)
            }
            let name = prefix.isEmpty ? key : prefix + "." + key
            if let tensor = entry.value.asTensor {
                tensors.append((name, tensor))
            } else if let inner = entry.value.asDict {
                try flatten(inner, prefix: name, depth: depth + 1, file: file, into: &tensors, skipped: &skipped)
            } else {
                skipped.append("\(quoted(name)) (\(entry.value.kind))")
            }
        }
    }

    /// Megatron-LM's GPT model keeps its modules under `language_model` and calls the layer
    /// stack `encoder`; BlackMamba's names start at `embedding` and `decoder`. Applied only when
    /// every name has the prefix and none already says `decoder`, so other layouts keep
    /// their names (and the shape check names what does not fit).
    private static func megatronToBlackMamba(_ tensors: [(name: String, tensor: Tensor)]) -> [(name: String, tensor: Tensor)] {
        let prefix = "language_model."
        guard !tensors.isEmpty, tensors.allSatisfy({ $0.name.hasPrefix(prefix) }) else { return tensors }
        let stripped = tensors.map { (name: String($0.name.dropFirst(prefix.count)), tensor: $0.tensor) }
        guard !stripped.contains(where: { $0.name.hasPrefix("decoder.") }) else { return stripped }
        return stripped.map { entry in
            entry.name.hasPrefix("encoder.") ? (name: "decoder." + entry.name.dropFirst("encoder.".count), tensor: entry.tensor) : entry
        }
    }
}
