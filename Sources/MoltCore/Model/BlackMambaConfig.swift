import Foundation

/// The hyper-parameters of a BlackMamba model, as read from `config.json`. Only the fields the
/// forward pass needs are kept; unknown fields are ignored. `dtRank` and `vocabRows` are not in
/// the file: they come from the weights' shapes (`resolved(from:)`).
public struct BlackMambaConfig: Sendable, Equatable {
    public enum Layer: Sendable, Equatable {
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

    /// Parses a published `config.json` through the strict JSON parser.
    public static func parse(json data: Data, file: String) throws -> BlackMambaConfig {
        let json = try data.withUnsafeBytes { bytes in
            guard String(validating: bytes, as: UTF8.self) != nil else { throw MoltError.badInput("not valid UTF-8", file: file) }
            return try JSON.parse(strict: bytes) { MoltError.badInput($0, file: file, offset: $1) }
        }
        return try BlackMambaConfig(json: json, spelling: .configJSON, file: file)
    }

    /// How a JSON object spells a config: config.json's own fields, or the .molt header's
    /// `model` object (Formats/molt.md), which says `layers` for `mamba_moe_layers`, has no
    /// `num_layers`, and adds `architecture` and the two sizes read from the weights.
    public enum Spelling: Sendable {
        case configJSON
        case moltHeader
    }

    /// The one validating initialiser, for config.json and the .molt header alike: sizes are
    /// whole numbers from 1 to 2^24 (they multiply into tensor sizes, so stay far from
    /// overflow), layers are "r" or an expert count up to 65536, unknown fields are ignored.
    /// Errors name the field as the file spells it, and `file`.
    public init(json: JSON, spelling: Spelling, file: String?) throws {
        let prefix = spelling == .moltHeader ? "model." : ""
        func fail(_ message: String) -> MoltError { MoltError.badInput(message, file: file) }
        guard case .object = json else { throw fail("\(prefix.isEmpty ? "config" : "model") is \(json.kindName), not an object") }
        let layersField = spelling == .moltHeader ? "layers" : "mamba_moe_layers"
        guard let layerList = json[layersField] else {
            // config.json has no `architectures` field: a model is recognised by its layer list.
            throw fail(spelling == .moltHeader ? "header has no 'model.layers'" : "no 'mamba_moe_layers' list: not a BlackMamba config")
        }
        if spelling == .moltHeader, json["architecture"] != .string("blackmamba") {
            throw MoltError.unsupported("model architecture \(json["architecture"].map { quoted($0.serialized()) } ?? "(none)") is not blackmamba", file: file)
        }
        guard case .array(let items) = layerList else { throw fail("field \(quoted(prefix + layersField)) is not a list") }
        var layers: [Layer] = []
        for (i, item) in items.enumerated() {
            if item == .string("r") {
                layers.append(.mamba)
            } else if case .string(let text) = item, let experts = Int(text), experts > 0, experts <= 65536 {
                layers.append(.moe(experts: experts))
            } else {
                throw fail("\(prefix)\(layersField)[\(i)] is \(quoted(item.serialized())): expected \"r\" or an expert count")
            }
        }
        func size(_ name: String) throws -> Int? {
            guard let value = json[name], value != .null else { return nil }
            let number: Double? =
                switch value {
                case .int(let i): Double(i)
                case .double(let d): d
                default: nil
                }
            guard let number, number == number.rounded(), number >= 1, number <= Double(1 << 24) else {
                throw fail("field \(quoted(prefix + name)) is \(value.serialized()): must be a whole number from 1 to 2^24")
            }
            return Int(number)
        }
        func required(_ name: String) throws -> Int {
            guard let value = try size(name) else { throw fail("missing field \(quoted(prefix + name))") }
            return value
        }
        func flag(_ name: String) throws -> Bool {
            switch json[name] {
            case nil, .null?: return false
            case .bool(let b)?: return b
            case let other?: throw fail("field \(quoted(prefix + name)) is \(other.kindName), not a boolean")
            }
        }
        if spelling == .configJSON {
            let numLayers = try required("num_layers")
            guard numLayers == layers.count else { throw fail("num_layers is \(numLayers) but mamba_moe_layers lists \(layers.count)") }
        }
        self.init(
            hiddenSize: try required("hidden_size"), stateSize: try required("state_size"),
            convDimension: try required("conv_dimension"), expansionFactor: try required("expansion_factor"),
            ffnHiddenSize: try required("ffn_hidden_size"), vocabSize: try required("vocab_size"),
            layers: layers, addBiasLinear: try flag("add_bias_linear"), swiglu: try flag("swiglu"),
            maxSequenceLength: try size("max_sequence_length"),
            dtRank: spelling == .moltHeader ? try required("dt_rank") : nil,
            vocabRows: spelling == .moltHeader ? try required("vocab_rows") : nil)
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
        .object([("num_layers", .int(layers.count)), ("mamba_moe_layers", layerList)] + commonFields)
    }

    /// The .molt header's `model` object, which `init(json:spelling: .moltHeader)` reads back.
    public var headerJSON: JSON {
        .object([("architecture", "blackmamba"), ("layers", layerList)] + commonFields)
    }

    private var layerList: JSON { JSON(layers.map { if case .moe(let e) = $0 { String(e) } else { "r" } }) }

    private var commonFields: [(String, JSON)] {
        [
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
        ]
    }
}
