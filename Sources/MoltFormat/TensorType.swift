import MoltCore
import MoltQuant

/// The element encodings a .molt tensor may have (Formats/molt.md, "Tensor entries").
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
