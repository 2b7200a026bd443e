import MoltCore

/// The element encodings a .molt tensor may have (Formats/molt.md, "Tensor entries"), which
/// are also the weight layouts the kernels read: the one stored-element type of the format and
/// the kernels (`DType` is a source tensor's, `QuantType` the quantizer's q8/q4 alone).
public enum MoltTensorType: String, Sendable, CaseIterable, Codable {
    case f32, f16, bf16, q8, q4

    /// The quantized encoding, for q8 and q4.
    public var quantType: QuantType? {
        switch self {
        case .q8: .q8
        case .q4: .q4
        default: nil
        }
    }

    /// The plain dtype, for f32, f16 and bf16.
    public var dtype: DType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        default: nil
        }
    }
}
