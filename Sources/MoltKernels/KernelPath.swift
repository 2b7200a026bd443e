import CMoltKernels

/// The instruction-set level a kernel runs at. Each level requires the ones below it; `best`
/// is the highest this CPU supports. Tests force each supported level in turn.
public enum KernelPath: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Portable C: the reference, and the path on CPUs without AVX2 (or not x86).
    case scalar = 0
    /// AVX2 + FMA + F16C.
    case avx2 = 1
    /// AVX-512 F/BW/DQ/VL.
    case avx512 = 2
    /// AVX-512 VNNI: integer dot products for int8 activations.
    case avx512vnni = 3

    public static let best = KernelPath(rawValue: Int(molt_best_path().rawValue)) ?? .scalar

    public var isSupported: Bool { rawValue <= KernelPath.best.rawValue }

    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    var c: molt_path { molt_path(rawValue: UInt32(rawValue)) }

    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .avx2: "avx2"
        case .avx512: "avx512"
        case .avx512vnni: "avx512vnni"
        }
    }
}

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
