import MoltCore
import MoltFormat
import MoltKernels

extension BlackMambaModel {
    /// Binds a .molt file as users run it: q8/q4 projections read in place by the quantized
    /// kernels, so an expert's pages are touched only when a token is routed to it; the rest
    /// as f32. A q8/q4 embedding serves the logits packed and its rows dequantized.
    public convenience init(molt file: MoltFile) throws {
        var tensors: [String: Tensor] = [:], packed: [String: WeightMatrix] = [:]
        for entry in file.header.tensors {
            if entry.type.isQuantized {
                packed[entry.name] = try WeightMatrix(file.quantized(entry.name))
            }
            if !entry.type.isQuantized || entry.name == TensorNames.embedding {
                tensors[entry.name] = try file.runtimeTensor(entry.name)
            }
        }
        try self.init(config: file.config, tensors: tensors, packed: packed)
    }
}
