import CMoltSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction-set level Molt's C code (the kernels and the quantizer) runs at. Each level
/// requires the ones below it; `detected` is the highest this CPU supports, `best` the level
/// used unless a caller names one (`MOLT_KERNELS` chooses it by hand). Tests force each
/// supported level in turn.
public enum KernelPath: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Portable C: the reference, and the path on CPUs without AVX2 (or not x86).
    case scalar = 0
    /// AVX2 + FMA + F16C.
    case avx2 = 1
    /// AVX-512 F/BW/DQ/VL.
    case avx512 = 2
    /// AVX-512 VNNI: integer dot products for int8 activations (the quantizer runs its AVX-512
    /// path here).
    case avx512vnni = 3

    /// The highest level this CPU (and its OS) supports.
    public static let detected = KernelPath(rawValue: Int(molt_cpu_best_path().rawValue)) ?? .scalar

    /// The level the environment variable `MOLT_KERNELS` names (scalar, avx2, avx512 or
    /// avx512vnni), or `detected` when it is unset or empty; an error when it names no level or
    /// one this CPU lacks. The `molt` command refuses to start on an error.
    public static let selection: Result<KernelPath, MoltError> = select(
        getenv("MOLT_KERNELS").map { String(cString: $0) }, detected: detected)

    /// The level products run at unless told otherwise: the selection, or `detected` when the
    /// selection is an error.
    public static let best: KernelPath = (try? selection.get()) ?? detected

    public var isSupported: Bool { rawValue <= KernelPath.detected.rawValue }

    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// `name` as a level this CPU (whose highest level is `detected`) supports.
    static func select(_ name: String?, detected: KernelPath) -> Result<KernelPath, MoltError> {
        guard let name, !name.isEmpty else { return .success(detected) }
        guard let path = allCases.first(where: { $0.description == name }) else {
            return .failure(MoltError.unknownKernelPath(name: name, levels: allCases.map(\.description)))
        }
        guard path.rawValue <= detected.rawValue else {
            let available = allCases.filter { $0.rawValue <= detected.rawValue }.map(\.description)
            return .failure(MoltError.kernelPathUnavailable(name: name, available: available))
        }
        return .success(path)
    }

    /// The level as the C code takes it.
    public var c: molt_path { molt_path(rawValue: UInt32(rawValue)) }

    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .avx2: "avx2"
        case .avx512: "avx512"
        case .avx512vnni: "avx512vnni"
        }
    }
}
