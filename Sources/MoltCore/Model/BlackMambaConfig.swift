import Foundation

/// The hyper-parameters of a BlackMamba model, as read from `config.json`. Only the fields the
/// forward pass needs are kept; unknown fields are ignored. `dtRank` and `vocabRows` are not in
/// the file: they come from the weights' shapes (`resolved(from:)`).
public struct BlackMambaConfig: Sendable, Equatable, Codable {
    public enum Layer: Sendable, Equatable, Codable {
        case mamba
        case moe(experts: Int)
    }

    public var hiddenSize: Int
    public var stateSize: Int
    public var convDimension: Int
    public var expansionFactor: Int
    public var ffnHiddenSize: Int
    public var vocabSize: Int
    public var layers: [Layer]
    public var addBiasLinear: Bool
    public var swiglu: Bool
    public var maxSequenceLength: Int?
    /// Rank of the delta projection; published models use ceil(hidden / 16).
    public var dtRank: Int
    /// Rows of the embedding (and tied output) matrix; may exceed `vocabSize` (padding).
    public var vocabRows: Int

    /// config.json is a few hundred bytes; this bounds what parsing a hostile one may allocate.
    public static let maxFileSize = 1 << 20

    public var innerSize: Int { expansionFactor * hiddenSize }

    public init(
        hiddenSize: Int, stateSize: Int, convDimension: Int, expansionFactor: Int, ffnHiddenSize: Int,
        vocabSize: Int, layers: [Layer], addBiasLinear: Bool, swiglu: Bool, maxSequenceLength: Int? = nil,
        dtRank: Int? = nil, vocabRows: Int? = nil
    ) {
        self.hiddenSize = hiddenSize
        self.stateSize = stateSize
        self.convDimension = convDimension
        self.expansionFactor = expansionFactor
        self.ffnHiddenSize = ffnHiddenSize
        self.vocabSize = vocabSize
        self.layers = layers
        self.addBiasLinear = addBiasLinear
        self.swiglu = swiglu
        self.maxSequenceLength = maxSequenceLength
        self.dtRank = dtRank ?? (hiddenSize + 15) / 16
        self.vocabRows = vocabRows ?? vocabSize
    }

    /// Parses a published `config.json`. A model is recognised by `mamba_moe_layers`, since the
    /// file has no `architectures` field.
    public static func parse(json data: Data, file: String) throws -> BlackMambaConfig {
        // Recognise the model before complaining about any other field.
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["mamba_moe_layers"] == nil {
            throw MoltError.badInput("no 'mamba_moe_layers' list: not a BlackMamba config", file: file)
        }
        let raw: RawConfig
        do {
            raw = try JSONDecoder().decode(RawConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw MoltError.badInput("missing field \(quoted(key.stringValue))", file: file)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context)
            where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw MoltError.badInput("field \(quoted(field)) has the wrong type or value", file: file)
        } catch {
            throw MoltError.badInput("not a valid config JSON object", file: file)
        }
        var layers: [Layer] = []
        for (i, text) in raw.mamba_moe_layers.enumerated() {
            if text == "r" {
                layers.append(.mamba)
            } else if let experts = Int(text), experts > 0, experts <= 65536 {
                layers.append(.moe(experts: experts))
            } else {
                throw MoltError.badInput("mamba_moe_layers[\(i)] is \(quoted(text)): expected \"r\" or an expert count", file: file)
            }
        }
        // Sizes multiply into tensor sizes: keep them whole, positive and far from overflow.
        func size(_ name: String, _ value: Double) throws -> Int {
            guard value == value.rounded(), value >= 1, value <= Double(1 << 24) else {
                throw MoltError.badInput("field \(quoted(name)) is \(value): must be a whole number from 1 to 2^24", file: file)
            }
            return Int(value)
        }
        let numLayers = try size("num_layers", raw.num_layers)
        guard numLayers == layers.count else {
            throw MoltError.badInput("num_layers is \(numLayers) but mamba_moe_layers lists \(layers.count)", file: file)
        }
        return BlackMambaConfig(
            hiddenSize: try size("hidden_size", raw.hidden_size),
            stateSize: try size("state_size", raw.state_size),
            convDimension: try size("conv_dimension", raw.conv_dimension),
            expansionFactor: try size("expansion_factor", raw.expansion_factor),
            ffnHiddenSize: try size("ffn_hidden_size", raw.ffn_hidden_size),
            vocabSize: try size("vocab_size", raw.vocab_size),
            layers: layers, addBiasLinear: raw.add_bias_linear ?? false, swiglu: raw.swiglu ?? false,
            maxSequenceLength: try raw.max_sequence_length.map { try size("max_sequence_length", $0) })
    }

    /// The fields of `config.json` Molt reads, spelled as the file spells them. Numbers are
    /// read as Double because Foundation's decoder reports `3.5` for an Int without naming the field.
    private struct RawConfig: Decodable {
        var num_layers: Double
        var hidden_size: Double
        var state_size: Double
        var conv_dimension: Double
        var vocab_size: Double
        var expansion_factor: Double
        var mamba_moe_layers: [String]
        var ffn_hidden_size: Double
        var add_bias_linear: Bool?
        var swiglu: Bool?
        var max_sequence_length: Double?
    }

    /// The config with `dtRank` and `vocabRows` taken from the weights' shapes, when present.
    public func resolved(shapes: [String: [Int]]) -> BlackMambaConfig {
        var copy = self
        if let first = layers.firstIndex(of: .mamba),
            let shape = shapes[TensorNames.mamba(first, "dt_proj.weight")], shape.count == 2 {
            copy.dtRank = shape[1]
        }
        if let shape = shapes[TensorNames.embedding], shape.count == 2 {
            copy.vocabRows = shape[0]
        }
        return copy
    }

    /// Total experts across MoE layers.
    public var expertCount: Int {
        layers.reduce(0) { if case .moe(let e) = $1 { $0 + e } else { $0 } }
    }
}

extension BlackMambaConfig {
    /// The config in config.json's field names, plus the two sizes read from the weights.
    public var json: JSON {
        .object([
            ("num_layers", .int(layers.count)),
            ("mamba_moe_layers", JSON(layers.map { if case .moe(let e) = $0 { String(e) } else { "r" } })),
            ("hidden_size", .int(hiddenSize)),
            ("state_size", .int(stateSize)),
            ("conv_dimension", .int(convDimension)),
            ("expansion_factor", .int(expansionFactor)),
            ("ffn_hidden_size", .int(ffnHiddenSize)),
            ("vocab_size", .int(vocabSize)),
            ("add_bias_linear", .bool(addBiasLinear)),
            ("swiglu", .bool(swiglu)),
            ("max_sequence_length", maxSequenceLength.map(JSON.int) ?? .null),
            ("dt_rank", .int(dtRank)),
            ("vocab_rows", .int(vocabRows)),
        ])
    }
}
