import MoltCore
import MoltQuant

/// How each tensor of a BlackMamba model is stored in a .molt file. Tensors fall in four
/// groups: expert weights (the bulk of the bytes), Mamba projection weights, the tied
/// embedding, and everything else (routers, norms, A_log, D, conv, biases).
public struct Recipe: Sendable, Equatable {
    public enum Group: String, Sendable, CaseIterable {
        case experts, mamba, embedding, others
    }

    public var experts: MoltTensorType
    public var mamba: MoltTensorType
    public var embedding: MoltTensorType
    public var others: MoltTensorType
    public var groupSize: Int
    public var method: QuantMethod
    /// Groups whose tensors are zstd-compressed (for distribution copies).
    public var compressed: Set<Group>
    /// Tensors stored as another type than their group's: those `--target-kl` promoted
    /// (Formats/calibration.md).
    public var promoted: [String: MoltTensorType] = [:]

    public init(
        experts: MoltTensorType = .q4, mamba: MoltTensorType = .q8, embedding: MoltTensorType = .q8,
        others: MoltTensorType = .f32, groupSize: Int = 32, method: QuantMethod = .search, compressed: Set<Group> = []
    ) throws {
        guard !others.isQuantized else {
            throw MoltError(.usage, "routers, norms, conv and biases cannot be quantized (asked for \(others.rawValue))")
        }
        guard QuantLayout.isValid(groupSize: groupSize) else {
            throw MoltError(.usage, "group size must be a multiple of 32 from 32 to \(QuantLayout.groupSizeLimit), not \(groupSize)")
        }
        self.experts = experts
        self.mamba = mamba
        self.embedding = embedding
        self.others = others
        self.groupSize = groupSize
        self.method = method
        self.compressed = compressed
    }

    /// The group a state-dict key belongs to.
    public static func group(of name: String) -> Group {
        if TensorNames.isExpert(name) { return name.hasSuffix(".weight") ? .experts : .others }
        if name == TensorNames.embedding { return .embedding }
        for projection in ["in_proj.weight", "out_proj.weight", "x_proj.weight", "dt_proj.weight"] where name.hasSuffix(".mixer." + projection) {
            return .mamba
        }
        return .others
    }

    /// The stored type of `tensor`: its group's type, except that only 2-D weights are
    /// quantized (expert biases are 1-D and fall to `others`).
    public func type(of name: String, _ tensor: Tensor) -> MoltTensorType {
        if let type = promoted[name] { return type }
        let type: MoltTensorType =
            switch Recipe.group(of: name) {
            case .experts: experts
            case .mamba: mamba
            case .embedding: embedding
            case .others: others
            }
        return type.isQuantized && tensor.shape.count != 2 ? others : type
    }

    /// The header's `quantization` member; `calibration` (Formats/calibration.md) says what
    /// calibrated a calibrated method, `types` lists every tensor's stored type (in order) and
    /// `targetKL` what `--target-kl` did.
    public func json(
        calibration: JSON? = nil, types: [(name: String, type: MoltTensorType)] = [], bitsPerWeight: Double? = nil,
        targetKL: JSON? = nil
    ) -> JSON {
        var fields: [(String, JSON)] = [
            ("experts", .string(experts.rawValue)), ("mamba", .string(mamba.rawValue)),
            ("embedding", .string(embedding.rawValue)), ("others", .string(others.rawValue)),
            ("group_size", .int(groupSize)), ("method", .string(method.rawValue)),
            ("compressed", JSON(Group.allCases.filter(compressed.contains).map(\.rawValue))),
        ]
        if let bitsPerWeight { fields.append(("bits_per_weight", .double(bitsPerWeight))) }
        if let targetKL { fields.append(("target_kl", targetKL)) }
        if !types.isEmpty { fields.append(("types", .object(types.map { ($0.name, .string($0.type.rawValue)) }))) }
        if let calibration { fields.append(("calibration", calibration)) }
        return .object(fields)
    }
}

extension MoltTensorType {
    public var isQuantized: Bool { quantType != nil }

    /// True when every value of a `source` tensor survives being stored as this type: the
    /// same type, or f32 (which holds every f16 and bf16 value).
    public func holdsExactly(_ source: DType) -> Bool {
        self == .f32 || dtype == source
    }
}
