import Foundation
import MoltCore

/// An added token as tokenizer.json declares it.
struct AddedTokenSpec {
    let id: Int
    let content: String
    let special: Bool
    let lstrip: Bool
    let rstrip: Bool
    let singleWord: Bool
    let normalized: Bool
}

/// What a tokenizer.json says, validated: everything the encoder and decoder need, and
/// nothing it could mean that they do not implement (see Formats/tokenizer.md).
struct TokenizerFile {
    /// Every token by id; ids are dense from 0.
    var tokens: [String]
    var added: [AddedTokenSpec]
    /// model.vocab, keyed by the tokens' UTF-8.
    var modelVocab: [[UInt8]: Int32]
    /// (left, right, merged) ids in rank order.
    var merges: [(left: Int32, right: Int32, merged: Int32)]
    /// The id of the model token spelling each byte.
    var byteIDs: [Int32]
    var normalizesNFC: Bool
    var addPrefixSpace: Bool
    var useRegex: Bool
    var ignoreMerges: Bool

    /// Ids above this are refused: real vocabularies are far smaller, and ids size arrays.
    static let maxID = 1 << 24 - 1

    static func parse(_ data: [UInt8], file: String) throws -> TokenizerFile {
        guard String(validating: data, as: UTF8.self) != nil else {
            throw MoltError.badInput("not valid UTF-8 text", file: file)
        }
        let json = try data.withUnsafeBytes { bytes in
            try JSON.parse(strict: bytes) { message, offset in MoltError.badInput(message, file: file, offset: offset) }
        }
        let root = JSONNode(value: json, path: "", file: file)
        _ = try root.members()
        for key in ["truncation", "padding"] {
            if let node = try root.optionalNonNull(key) {
                throw node.unsupported("must be null: encode and decode work on single unpadded sequences")
            }
        }
        let normalizesNFC = try parseNormalizer(root.optionalNonNull("normalizer"))
        let (addPrefixSpace, useRegex) = try parsePreTokenizer(root.required("pre_tokenizer"))
        try checkPostProcessor(root.optionalNonNull("post_processor"))
        try checkDecoder(root.required("decoder"))

        let model = try root.required("model")
        let modelType = try model.required("type")
        guard try modelType.string() == "BPE" else {
            throw modelType.unsupported("model type \(quoted(try modelType.string())) is not supported: only BPE")
        }
        try checkModelOptions(model)
        let ignoreMerges = try model.flag("ignore_merges", default: false)

        // The model vocabulary, keyed by UTF-8 bytes (String equality is canonical equivalence).
        var vocab: [[UInt8]: Int32] = [:]
        var tokenOfID: [Int: String] = [:]
        let vocabNode = try model.required("vocab")
        for (token, node) in try vocabNode.members() {
            let id = try node.int()
            guard (0...maxID).contains(id) else { throw node.badInput("id \(id) is out of range 0...\(maxID)") }
            if let other = tokenOfID[id] { throw node.badInput("id \(id) is also the id of \(quoted(other))") }
            tokenOfID[id] = token
            vocab[Array(token.utf8)] = Int32(id)
        }

        var added: [AddedTokenSpec] = []
        var addedContents = Set<[UInt8]>()
        for node in try root.optionalNonNull("added_tokens")?.elements() ?? [] {
            let idNode = try node.required("id")
            let id = try idNode.int()
            let special = try node.flag("special", default: false)
            let normalized = try node.flag("normalized", default: !special)
            // Hugging Face keeps a normalized token's content normalized: it is what matches
            // and what decodes.
            var content = try node.required("content").string()
            if normalized && normalizesNFC { content = content.precomposedStringWithCanonicalMapping }
            guard (0...maxID).contains(id) else { throw idNode.badInput("id \(id) is out of range 0...\(maxID)") }
            guard !content.isEmpty else { throw node.badInput("content is empty") }
            guard addedContents.insert(Array(content.utf8)).inserted else {
                throw node.badInput("\(quoted(content)) is added twice")
            }
            if let vocabID = vocab[Array(content.utf8)] {
                guard Int(vocabID) == id else {
                    throw idNode.badInput("\(quoted(content)) has id \(id) here but \(vocabID) in model.vocab")
                }
            } else if let other = tokenOfID[id] {
                throw idNode.badInput("id \(id) of \(quoted(content)) is also the id of \(quoted(other))")
            }
            tokenOfID[id] = content
            added.append(AddedTokenSpec(
                id: id, content: content, special: special,
                lstrip: try node.flag("lstrip", default: false), rstrip: try node.flag("rstrip", default: false),
                singleWord: try node.flag("single_word", default: false), normalized: normalized))
        }

        let tokens = try denseTokens(tokenOfID, file: file)

        // Bytes that never occur in UTF-8 (C0, C1, F5-FF) may lack a token, as in GPT-NeoX-20B:
        // encoded text is always UTF-8. Every other byte needs one, or some text could not be
        // encoded at all.
        var byteIDs: [Int32] = []
        for byte in 0..<256 {
            let spelling = String(ByteAlphabet.characterOfByte[byte])
            if let id = vocab[Array(spelling.utf8)] {
                byteIDs.append(id)
            } else if byte == 0xC0 || byte == 0xC1 || byte >= 0xF5 {
                byteIDs.append(-1)
            } else {
                throw vocabNode.unsupported("no token for byte \(byte) (\(quoted(spelling))): not a byte-level vocabulary")
            }
        }

        let merges = try parseMerges(model.required("merges"), vocab: vocab)
        return TokenizerFile(
            tokens: tokens, added: added, modelVocab: vocab, merges: merges, byteIDs: byteIDs, normalizesNFC: normalizesNFC,
            addPrefixSpace: addPrefixSpace, useRegex: useRegex, ignoreMerges: ignoreMerges)
    }

    /// The tokens in id order, refusing gaps: an id without a token is a broken file.
    private static func denseTokens(_ tokenOfID: [Int: String], file: String) throws -> [String] {
        let count = tokenOfID.count
        guard count > 0 else { throw MoltError.badInput("model.vocab: empty vocabulary", file: file) }
        var tokens = [String?](repeating: nil, count: count)
        for (id, token) in tokenOfID where id < count { tokens[id] = token }
        if let missing = tokens.firstIndex(where: { $0 == nil }) {
            throw MoltError.badInput("no token has id \(missing), but ids go up to \(tokenOfID.keys.max() ?? 0)", file: file)
        }
        return tokens.map { $0 ?? "" }
    }

    private static func parseNormalizer(_ node: JSONNode?) throws -> Bool {
        guard let node else { return false }
        let type = try node.typeName()
        switch type {
        case "NFC":
            return true
        case "Sequence":
            var nfc = false
            for step in try node.required("normalizers").elements() { nfc = try parseNormalizer(step) || nfc }
            return nfc
        default:
            throw try node.required("type").unsupported("normalizer \(quoted(type)) is not supported: only NFC")
        }
    }

    private static func parsePreTokenizer(_ node: JSONNode) throws -> (addPrefixSpace: Bool, useRegex: Bool) {
        guard !node.isNull else { throw node.unsupported("is null: only the ByteLevel pre-tokenizer is supported") }
        let type = try node.typeName()
        guard type == "ByteLevel" else {
            throw try node.required("type").unsupported("pre-tokenizer \(quoted(type)) is not supported: only ByteLevel")
        }
        return (try node.required("add_prefix_space").bool(), try node.flag("use_regex", default: true))
    }

    /// A ByteLevel post-processor only adjusts offsets; any other would add tokens we would not.
    private static func checkPostProcessor(_ node: JSONNode?) throws {
        guard let node else { return }
        let type = try node.typeName()
        guard type == "ByteLevel" else {
            throw try node.required("type").unsupported("post-processor \(quoted(type)) is not supported: only ByteLevel or null")
        }
    }

    private static func checkDecoder(_ node: JSONNode) throws {
        guard !node.isNull else { throw node.unsupported("is null: only the ByteLevel decoder is supported") }
        let type = try node.typeName()
        guard type == "ByteLevel" else {
            throw try node.required("type").unsupported("decoder \(quoted(type)) is not supported: only ByteLevel")
        }
    }

    /// BPE options that would change the result are refused; `unk_token`, `fuse_unk` and
    /// `byte_fallback` never apply, because every byte has a token.
    private static func checkModelOptions(_ model: JSONNode) throws {
        if let dropout = try model.optionalNonNull("dropout"), try dropout.number() != 0 {
            throw dropout.unsupported("BPE dropout is random: only null or 0 is supported")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let node = try model.optionalNonNull(key), try !node.string().isEmpty {
                throw node.unsupported("must be null or empty: byte-level BPE marks no word boundaries")
            }
        }
    }

    private static func parseMerges(_ node: JSONNode, vocab: [[UInt8]: Int32]) throws -> [(left: Int32, right: Int32, merged: Int32)] {
        var merges: [(left: Int32, right: Int32, merged: Int32)] = []
        var seen = Set<UInt64>()
        for element in try node.elements() {
            let left: String
            let right: String
            if case .string(let text) = element.value {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw element.badInput("\(quoted(text)) is not two tokens separated by one space")
                }
                (left, right) = (String(parts[0]), String(parts[1]))
            } else {
                let pair = try element.elements()
                guard pair.count == 2 else { throw element.badInput("expected a pair of tokens, found \(pair.count) elements") }
                (left, right) = (try pair[0].string(), try pair[1].string())
            }
            guard let l = vocab[Array(left.utf8)] else { throw element.badInput("\(quoted(left)) is not in model.vocab") }
            guard let r = vocab[Array(right.utf8)] else { throw element.badInput("\(quoted(right)) is not in model.vocab") }
            guard let merged = vocab[Array((left + right).utf8)] else {
                throw element.badInput("the merged token \(quoted(left + right)) is not in model.vocab")
            }
            guard seen.insert(UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))).inserted else {
                throw element.badInput("merge \(quoted(left)) + \(quoted(right)) appears twice")
            }
            merges.append((l, r, merged))
        }
        return merges
    }
}
