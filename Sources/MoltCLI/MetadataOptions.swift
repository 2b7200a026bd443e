import ArgumentParser
import Foundation
import MoltCheckpoint
import MoltCore
import MoltFormat

/// `molt convert`'s model metadata (Formats/molt.md, "Model metadata"): given by flags, or read
/// from the source's model card (README.md front matter) and config.json where they hold it.
struct MetadataOptions: ParsableArguments {
    @Option(help: """
        The model's name (default: model_name from the README.md front matter beside the \
        source, else _name_or_path from its config.json, else the source directory's name).
        """)
    var name: String?

    @Option(name: .customLong("description"), help: "What the model is, in a sentence or two.")
    var modelDescription: String?

    @Option(help: "Its license, e.g. apache-2.0 (default: license from the README.md front matter beside the source).")
    var license: String?

    @Option(help: "Who made it.")
    var author: String?

    @Option(help: "Where the source checkpoint comes from, e.g. https://huggingface.co/Zyphra/BlackMamba-1.5B.")
    var sourceRepository: String?

    /// The values to store, each with where it came from ("--name", "README.md", ...).
    func resolve(_ checkpoint: Checkpoint) -> [(key: ModelMetadataKey, value: String, from: String)] {
        let directory = ((checkpoint.configPath ?? checkpoint.files[0]) as NSString).deletingLastPathComponent
        let card = FrontMatter.scalars(ofFileAt: (directory as NSString).appendingPathComponent("README.md"))
        let nameOrPath = checkpoint.configPath.flatMap(Self.nameOrPath)
        let cardLicense = card["license"] == "other" ? card["license_name"] ?? "other" : card["license"]
        let folder = ((directory.isEmpty ? "." : directory) as NSString).standardizingPath
        let candidates: [(ModelMetadataKey, [(String?, String)])] = [
            (.name, [(name, "--name"), (card["model_name"], "README.md"), (nameOrPath, "config.json"),
                     ((folder as NSString).lastPathComponent, "the source's directory")]),
            (.description, [(modelDescription, "--description")]),
            (.license, [(license, "--license"), (cardLicense, "README.md")]),
            (.author, [(author, "--author")]),
            (.sourceRepository, [(sourceRepository, "--source-repository")]),
        ]
        return candidates.compactMap { key, options in
            options.first { $0.0.map { !$0.isEmpty } ?? false }.map { (key, $0.0!, $0.1) }
        }
    }

    /// config.json's `_name_or_path`, which Hugging Face's save_pretrained writes.
    private static func nameOrPath(_ configPath: String) -> String? {
        guard let data = try? MappedFile.contents(of: configPath, limit: BlackMambaConfig.maxFileSize),
              let json = try? data.withUnsafeBytes({ try JSON.parse(strict: $0) { message, _ in MoltError.badInput(message) } }),
              case .string(let value) = json["_name_or_path"] ?? .null
        else { return nil }
        return value
    }
}

/// The YAML front matter that opens a Hugging Face model card: only its top-level
/// `key: value` scalars, which is where `license` and `model_name` live.
enum FrontMatter {
    /// Front matter sits in the first lines; a model card's first 64 KB hold it.
    static let readLimit = 64 << 10

    static func scalars(ofFileAt path: String) -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [:] }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: readLimit) else { return [:] }
        return scalars(String(decoding: data, as: UTF8.self))
    }

    static func scalars(_ text: String) -> [String: String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard lines.first == "---" else { return [:] }
        var values: [String: String] = [:]
        for line in lines.dropFirst() {
            if line == "---" || line == "..." { return values }
            // Nested values, list items and comments are not top-level scalars.
            guard let first = line.first, !" \t-#".contains(first), let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            if !value.isEmpty { values[key] = value }
        }
        // No closing line: not front matter.
        return [:]
    }
}
