import MoltCore
import MoltQuant

/// The JSON header of a .molt file (Formats/molt.md, "The JSON header").
public struct MoltHeader: Sendable, Equatable, Codable {
    public var formatVersion: String
    public var tool: Tool
    public var model: BlackMambaConfig
    public var quantization: JSON
    public var provenance: Provenance
    /// Name of the blob holding the raw tokenizer.json text.
    public var tokenizer: String?
    public var blobs: [MoltBlobEntry]
    public var tensors: [MoltTensorEntry]
    public var expertRegions: [ExpertRegion]
    /// The parity report: null until the converter has verified the written file.
    public var parity: JSON
    public var metadata: [String: JSON]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", tool, model, quantization, provenance, tokenizer, blobs, tensors
        case expertRegions = "expert_regions", parity, metadata
    }

    public init(
        formatVersion: String = MoltFormat.versionString, tool: Tool, model: BlackMambaConfig, quantization: JSON,
        provenance: Provenance, tokenizer: String?, blobs: [MoltBlobEntry], tensors: [MoltTensorEntry],
        expertRegions: [ExpertRegion], parity: JSON, metadata: [String: JSON]
    ) {
        self.formatVersion = formatVersion
        self.tool = tool
        self.model = model
        self.quantization = quantization
        self.provenance = provenance
        self.tokenizer = tokenizer
        self.blobs = blobs
        self.tensors = tensors
        self.expertRegions = expertRegions
        self.parity = parity
        self.metadata = metadata
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decode(String.self, forKey: .formatVersion)
        tool = try c.decode(Tool.self, forKey: .tool)
        model = try BlackMambaConfig(json: c.decode(JSON.self, forKey: .model), spelling: .moltHeader, file: nil)
        quantization = try c.decodeIfPresent(JSON.self, forKey: .quantization) ?? .null
        provenance = try c.decode(Provenance.self, forKey: .provenance)
        tokenizer = try c.decodeIfPresent(String.self, forKey: .tokenizer)
        blobs = try c.decode([MoltBlobEntry].self, forKey: .blobs)
        tensors = try c.decode([MoltTensorEntry].self, forKey: .tensors)
        expertRegions = try c.decode([ExpertRegion].self, forKey: .expertRegions)
        parity = try c.decodeIfPresent(JSON.self, forKey: .parity) ?? .null
        metadata = try c.decodeIfPresent([String: JSON].self, forKey: .metadata) ?? [:]
    }

    /// Writes every key, nulls included, so a reader sees "parity": null rather than nothing.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(tool, forKey: .tool)
        try c.encode(model.headerJSON, forKey: .model)
        try c.encode(quantization, forKey: .quantization)
        try c.encode(provenance, forKey: .provenance)
        try c.encode(tokenizer, forKey: .tokenizer)
        try c.encode(blobs, forKey: .blobs)
        try c.encode(tensors, forKey: .tensors)
        try c.encode(expertRegions, forKey: .expertRegions)
        try c.encode(parity, forKey: .parity)
        try c.encode(metadata, forKey: .metadata)
    }

    public struct Tool: Sendable, Equatable, Codable {
        public var name: String
        public var version: String
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    public struct Provenance: Sendable, Equatable, Codable {
        /// ISO 8601, UTC.
        public var created: String
        public var sources: [SourceFile]
        public init(created: String, sources: [SourceFile]) {
            self.created = created
            self.sources = sources
        }
    }

    public struct SourceFile: Sendable, Equatable, Codable {
        public var path: String
        public var name: String
        /// Lowercase hex.
        public var sha256: String
        public var size: Int
        public init(path: String, name: String, sha256: String, size: Int) {
            self.path = path
            self.name = name
            self.sha256 = sha256
            self.size = size
        }
    }
}

/// One tensor of the table. `offset` and `length` locate the stored bytes; `crc32` covers them.
public struct MoltTensorEntry: Sendable, Equatable, Codable {
    public var name: String
    public var type: MoltTensorType
    public var shape: [Int]
    /// q8/q4 only.
    public var groupSize: Int?
    /// q8/q4 only: zero columns that fill each row's last group.
    public var paddedColumns: Int?
    public var offset: Int
    public var length: Int
    public var crc32: UInt32
    public var compression: Compression?
    public var quantError: QuantErrorReport?

    enum CodingKeys: String, CodingKey {
        case name, type, shape, groupSize = "group_size", paddedColumns = "padded_columns", offset, length, crc32
        case compression, quantError = "quant_error"
    }

    public init(
        name: String, type: MoltTensorType, shape: [Int], groupSize: Int? = nil, paddedColumns: Int? = nil, offset: Int,
        length: Int, crc32: UInt32, compression: Compression? = nil, quantError: QuantErrorReport? = nil
    ) {
        self.name = name
        self.type = type
        self.shape = shape
        self.groupSize = groupSize
        self.paddedColumns = paddedColumns
        self.offset = offset
        self.length = length
        self.crc32 = crc32
        self.compression = compression
        self.quantError = quantError
    }

    /// An unknown type is reported with the tensor's name rather than as a JSON decoding error.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        let typeName = try c.decode(String.self, forKey: .type)
        guard let type = MoltTensorType(rawValue: typeName) else {
            throw MoltError.badInput("tensor \(quoted(name)) has unknown type \(quoted(typeName)) (known: f32, f16, bf16, q8, q4)")
        }
        self.type = type
        shape = try c.decode([Int].self, forKey: .shape)
        groupSize = try c.decodeIfPresent(Int.self, forKey: .groupSize)
        paddedColumns = try c.decodeIfPresent(Int.self, forKey: .paddedColumns)
        offset = try c.decode(Int.self, forKey: .offset)
        length = try c.decode(Int.self, forKey: .length)
        crc32 = try c.decode(UInt32.self, forKey: .crc32)
        compression = try c.decodeIfPresent(Compression.self, forKey: .compression)
        quantError = try c.decodeIfPresent(QuantErrorReport.self, forKey: .quantError)
    }
}

/// An opaque run of bytes, such as the tokenizer.
public struct MoltBlobEntry: Sendable, Equatable, Codable {
    public var name: String
    public var offset: Int
    public var length: Int
    public var crc32: UInt32
    public var compression: Compression?

    public init(name: String, offset: Int, length: Int, crc32: UInt32, compression: Compression? = nil) {
        self.name = name
        self.offset = offset
        self.length = length
        self.crc32 = crc32
        self.compression = compression
    }
}

public struct Compression: Sendable, Equatable, Codable {
    public var codec: String
    public var storedLength: Int
    public var uncompressedLength: Int

    enum CodingKeys: String, CodingKey {
        case codec, storedLength = "stored_length", uncompressedLength = "uncompressed_length"
    }

    public init(codec: String = "zstd", storedLength: Int, uncompressedLength: Int) {
        self.codec = codec
        self.storedLength = storedLength
        self.uncompressedLength = uncompressedLength
    }
}

/// The error of a quantized tensor against its f32 source.
public struct QuantErrorReport: Sendable, Equatable, Codable {
    public var relRMS: Double
    /// nil when the error is zero (infinite SQNR).
    public var sqnrDB: Double?
    public var maxAbs: Double

    enum CodingKeys: String, CodingKey {
        case relRMS = "rel_rms", sqnrDB = "sqnr_db", maxAbs = "max_abs"
    }

    public init(_ error: QuantError) {
        relRMS = error.relativeRMS.isFinite ? error.relativeRMS : 1
        sqnrDB = error.sqnrDB.flatMap { $0.isFinite ? $0 : nil }
        maxAbs = Double(error.maxAbs)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(relRMS, forKey: .relRMS)
        try c.encode(sqnrDB, forKey: .sqnrDB)
        try c.encode(maxAbs, forKey: .maxAbs)
    }
}

/// The page-aligned byte range holding all tensors of one expert.
public struct ExpertRegion: Sendable, Equatable, Hashable, Codable {
    public var layer: Int
    public var expert: Int
    public var offset: Int
    public var length: Int

    public init(layer: Int, expert: Int, offset: Int, length: Int) {
        self.layer = layer
        self.expert = expert
        self.offset = offset
        self.length = length
    }
}
