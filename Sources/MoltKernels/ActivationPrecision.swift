import CMoltKernels

/// How `matvec` treats the activation vector with q8/q4 weights (other weights ignore it).
public enum ActivationPrecision: Sendable, CaseIterable {
    /// f32 activations: the product of the dequantized weights and x, up to f32 rounding.
    case float32
    /// x quantized per block of 32 to int8 with an f32 scale, integer dot products: faster on
    /// VNNI, with an error of up to half an activation step per value (Formats/kernels.md).
    case int8
    /// The same with int16 for q8 weights (q4 takes f32 activations then): one int16
    /// multiply-add instruction per 32 weights, and an error of about 1.5e-5 of each block's
    /// largest value.
    case int16

    var c: molt_activations {
        switch self {
        case .float32: MOLT_ACTIVATIONS_F32
        case .int8: MOLT_ACTIVATIONS_INT8
        case .int16: MOLT_ACTIVATIONS_INT16
        }
    }
}
