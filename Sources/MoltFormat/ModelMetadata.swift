import MoltCore

/// The header's well-known `metadata` keys (Formats/molt.md, "Model metadata"): what the model
/// is, for people and catalogues, like GGUF's `general.*` keys. Each is an optional string.
public enum ModelMetadataKey: String, CaseIterable, Sendable {
    case name, description, license, author
    case sourceRepository = "source_repository"

    /// The GGUF key holding the same, for people coming from llama.cpp.
    public var ggufKey: String {
        switch self {
        case .name: "general.name"
        case .description: "general.description"
        case .license: "general.license"
        case .author: "general.author"
        case .sourceRepository: "general.source.repo_url"
        }
    }
}

extension MoltHeader {
    /// The well-known metadata the file holds, in `ModelMetadataKey` order (validated strings).
    public var modelMetadata: [(key: ModelMetadataKey, value: String)] {
        ModelMetadataKey.allCases.compactMap { key in
            if case .string(let value) = metadata[key.rawValue] { (key, value) } else { nil }
        }
    }
}
