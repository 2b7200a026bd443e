import MoltCore
import MoltFormat
import MoltKernels

extension BlackMambaModel {
    /// Binds a .molt file as users run it: projections and the embedding read in place by the
    /// kernels (q8, q4, f16, bf16), so an expert's pages are touched only when a token is routed
    /// to it; f32 weights through OpenBLAS, and small tensors widened to f32.
    public convenience init(molt file: MoltFile, kernels: KernelThreads = .shared) throws {
        var tensors: [String: Tensor] = [:], packed: [String: WeightMatrix] = [:]
        for entry in file.header.tensors {
            if entry.type.isQuantized {
                packed[entry.name] = try WeightMatrix(file.quantized(entry.name))
            } else {
                tensors[entry.name] = try file.runtimeTensor(entry.name)
            }
        }
        try self.init(config: file.config, tensors: tensors, packed: packed, kernels: kernels)
    }
}
