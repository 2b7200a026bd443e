import MoltCore

/// Finds the weights in what a torch file's pickle describes: the `model` entry of a Megatron
/// wrapper, or a bare state dict.
public enum StateDict {
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

        var table = TensorTable()
        var skipped: [String] = []
        for (index, entry) in stateDict.entries.enumerated() {
            guard let name = entry.key.asString else {
                throw MoltError.badInput("state dict key #\(index) is \(entry.key.kind), not a string", file: file)
            }
            guard let tensor = entry.value.asTensor else {
                skipped.append("\(quoted(name)) (\(entry.value.kind))")
                continue
            }
            try table.insert(tensor, named: name)
        }
        if !skipped.isEmpty { warnings.append("skipped non-tensor entries: \(skipped.joined(separator: ", "))") }
        guard table.count > 0 else { throw MoltError.badInput("holds no tensors", file: file) }
        return table
    }
}
