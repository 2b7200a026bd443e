import MoltCore

/// The model's hyper-parameters as the header spells them: snake_case like config.json, with
/// `layers` in config.json's own "r" / expert-count notation.
public struct ModelHeader: Sendable, Equatable, Codable {
    public var architecture: String
    public var hiddenSize: Int
    public var stateSize: Int
    public var convDimension: Int
    public var expansionFactor: Int
    public var ffnHiddenSize: Int
    public var vocabSize: Int
    public var vocabRows: Int
    public var dtRank: Int
    public var layers: [String]
    public var addBiasLinear: Bool
    public var swiglu: Bool
    public var maxSequenceLength: Int?

    enum CodingKeys: String, CodingKey {
        case architecture, hiddenSize = "hidden_size", stateSize = "state_size", convDimension = "conv_dimension"
        case expansionFactor = "expansion_factor", ffnHiddenSize = "ffn_hidden_size", vocabSize = "vocab_size"
        case vocabRows = "vocab_rows", dtRank = "dt_rank", layers, addBiasLinear = "add_bias_linear", swiglu
        case maxSequenceLength = "max_sequence_length"
    }

    public init(_ config: BlackMambaConfig) {
        architecture = "blackmamba"
        hiddenSize = config.hiddenSize
        stateSize = config.stateSize
        convDimension = config.convDimension
        expansionFactor = config.expansionFactor
        ffnHiddenSize = config.ffnHiddenSize
        vocabSize = config.vocabSize
        vocabRows = config.vocabRows
        dtRank = config.dtRank
        layers = config.layers.map {
            switch $0 {
            case .mamba: "r"
            case .moe(let experts): String(experts)
            }
        }
        addBiasLinear = config.addBiasLinear
        swiglu = config.swiglu
        maxSequenceLength = config.maxSequenceLength
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(stateSize, forKey: .stateSize)
        try c.encode(convDimension, forKey: .convDimension)
        try c.encode(expansionFactor, forKey: .expansionFactor)
        try c.encode(ffnHiddenSize, forKey: .ffnHiddenSize)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(vocabRows, forKey: .vocabRows)
        try c.encode(dtRank, forKey: .dtRank)
        try c.encode(layers, forKey: .layers)
        try c.encode(addBiasLinear, forKey: .addBiasLinear)
        try c.encode(swiglu, forKey: .swiglu)
        try c.encode(maxSequenceLength, forKey: .maxSequenceLength)
    }

    /// The config, with every size checked as config.json's are: whole, 1 to 2^24.
    public func config() throws -> BlackMambaConfig {
        guard architecture == "blackmamba" else { throw MoltError.unsupported("model architecture \(quoted(architecture)) is not blackmamba") }
        func size(_ name: String, _ value: Int) throws -> Int {
            guard value >= 1, value <= 1 << 24 else { throw MoltError.badInput("model.\(name) is \(value): must be from 1 to 2^24") }
            return value
        }
        var parsed: [BlackMambaConfig.Layer] = []
        for (i, text) in layers.enumerated() {
            if text == "r" {
                parsed.append(.mamba)
            } else if let experts = Int(text), experts > 0, experts <= 65536 {
                parsed.append(.moe(experts: experts))
            } else {
                throw MoltError.badInput("model.layers[\(i)] is \(quoted(text)): expected \"r\" or an expert count")
            }
        }
        return BlackMambaConfig(
            hiddenSize: try size("hidden_size", hiddenSize), stateSize: try size("state_size", stateSize),
            convDimension: try size("conv_dimension", convDimension), expansionFactor: try size("expansion_factor", expansionFactor),
            ffnHiddenSize: try size("ffn_hidden_size", ffnHiddenSize), vocabSize: try size("vocab_size", vocabSize),
            layers: parsed, addBiasLinear: addBiasLinear, swiglu: swiglu,
            maxSequenceLength: try maxSequenceLength.map { try size("max_sequence_length", $0) },
            dtRank: try size("dt_rank", dtRank), vocabRows: try size("vocab_rows", vocabRows))
    }
}
