import Foundation
import MoltTokenizer

/// The committed tokenizer fixtures (Scripts/make_tokenizer.py), found from this source file so
/// tests run from any directory.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizer")

    static var tokenizerPath: String { directory.appendingPathComponent("tokenizer.json").path }

    static let tokenizerJSON: Data = (try? Data(contentsOf: URL(fileURLWithPath: tokenizerPath))) ?? Data()

    static let tokenizer: Tokenizer? = try? Tokenizer(json: tokenizerJSON, file: "tokenizer.json")

    static let corpus: Corpus? = try? JSONDecoder().decode(
        Corpus.self, from: Data(contentsOf: directory.appendingPathComponent("corpus.json")))

    /// The fixture tokenizer.json as a mutable object, for building variants.
    static func tokenizerObject() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: tokenizerJSON) as? [String: Any] ?? [:]
    }
}

/// corpus.json: what the Python `tokenizers` package does with the fixture tokenizer.
struct Corpus: Decodable {
    struct Encoded: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String
        let decoded_skipping_special: String
    }

    struct Decoded: Decodable {
        let ids: [Int]
        let decoded: String
    }

    struct Variant: Decodable {
        let name: String
        let encode: [Encoded]
    }

    let encode: [Encoded]
    let decode: [Decoded]
    let variants: [Variant]
}

/// Shows a test string's scalars, since many are invisible.
func visible(_ text: String) -> String {
    String(text.unicodeScalars.prefix(60).map { $0.isASCII && $0.value >= 0x20 ? String($0) : $0.escaped(asASCII: true) }.joined())
}
