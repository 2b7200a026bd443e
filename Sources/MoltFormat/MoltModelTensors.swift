import Foundation
import MoltCore

extension MoltFile {
    /// A tensor as the runtime binds it: f32/f16/bf16 in place, q8/q4 dequantized to f32
    /// exactly as the kernels would compute them.
    public func runtimeTensor(_ name: String) throws -> Tensor {
        try entry(name)?.type.isQuantized == true ? dequantized(name) : tensor(name)
    }

    /// Every tensor, by name, as `runtimeTensor` gives it.
    public func runtimeTensors() throws -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: try tensorNames.map { ($0, try runtimeTensor($0)) })
    }

    /// True when `bytes` starts like a .molt file, so commands can accept either kind of model.
    public static func looksLikeMolt(path: String) -> Bool {
        // MappedFile, not FileHandle: it refuses a FIFO instead of blocking on it.
        guard let file = try? MappedFile(path: path) else { return false }
        return file.bytes.starts(with: MoltFormat.preambleMagic)
    }
}
