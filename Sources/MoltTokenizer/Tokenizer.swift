import Foundation
import MoltCore

/// A byte-level BPE tokenizer read from a Hugging Face tokenizer.json of GPT-NeoX-20B's kind.
/// Encoding matches the `tokenizers` package's `encode(text).ids`; decoding matches its
/// `decode(ids, skip_special_tokens=False)` (see Formats/tokenizer.md). Thread-safe: the only
/// mutable state, the word cache, is used under `cacheLock` (NSLock rather than Mutex, which
/// would need macOS 15).
public final class Tokenizer: @unchecked Sendable {
    /// Number of ids: every id below this has a token.
    public let vocabularySize: Int
    /// The id of `<|endoftext|>`, when the vocabulary has it.
    public let endOfText: Int?

    private let tokens: [String]
    private let ids: [[UInt8]: Int32]
    /// The bytes each id decodes to, flattened: id i owns decodedBytes[byteStarts[i]..<byteStarts[i+1]].
    private let decodedBytes: [UInt8]
    private let byteStarts: [Int]
    private let special: [Bool]
    private let model: BytePairModel
    private let rawAddedTokens: AddedTokenMatcher
    private let normalizedAddedTokens: AddedTokenMatcher
    private let normalizesNFC: Bool
    private let addPrefixSpace: Bool
    private let useRegex: Bool
    private let cacheLock = NSLock()
    private var cache = WordCache()

    /// Reads a tokenizer.json held in memory; `file` names it in errors.
    public init(json: Data, file: String) throws {
        let spec = try TokenizerFile.parse([UInt8](json), file: file)
        tokens = spec.tokens
        vocabularySize = spec.tokens.count
        var ids: [[UInt8]: Int32] = [:]
        var decoded: [UInt8] = []
        var starts = [0]
        for (id, token) in spec.tokens.enumerated() {
            ids[Array(token.utf8)] = Int32(id)
            decoded += ByteAlphabet.bytes(of: token)
            starts.append(decoded.count)
        }
        self.ids = ids
        decodedBytes = decoded
        byteStarts = starts
        endOfText = ids[Array("<|endoftext|>".utf8)].map(Int.init)
        var special = [Bool](repeating: false, count: spec.tokens.count)
        for token in spec.added where token.special { special[token.id] = true }
        self.special = special

        var wholeWords: [[UInt8]: Int32]?
        if spec.ignoreMerges {
            // A word is looked up by its spelling, so only tokens written in the alphabet count.
            var words: [[UInt8]: Int32] = [:]
            for (token, id) in spec.modelVocab {
                if let bytes = ByteAlphabet.spelledBytes(String(decoding: token, as: UTF8.self)) { words[bytes] = id }
            }
            wholeWords = words
        }
        model = BytePairModel(byteIDs: spec.byteIDs, merges: MergeTable(spec.merges), wholeWords: wholeWords)

        func pattern(_ token: AddedTokenSpec) -> AddedTokenMatcher.Pattern {
            .init(bytes: Array(token.content.utf8), id: Int32(token.id), lstrip: token.lstrip, rstrip: token.rstrip, singleWord: token.singleWord)
        }
        rawAddedTokens = AddedTokenMatcher(spec.added.filter { !$0.normalized }.map(pattern))
        normalizedAddedTokens = AddedTokenMatcher(spec.added.filter(\.normalized).map(pattern))
        normalizesNFC = spec.normalizesNFC
        addPrefixSpace = spec.addPrefixSpace
        useRegex = spec.useRegex
    }

    /// GPT-NeoX's tokenizer.json is ~2 MB; this bounds what parsing a hostile one may allocate.
    public static let maxFileSize = 256 << 20

    /// Reads a tokenizer.json file.
    public convenience init(path: String) throws {
        try self.init(json: MappedFile.contents(of: path, limit: Self.maxFileSize), file: path)
    }

    /// The id of a token, given as the vocabulary spells it (`Ġthe`, `<|endoftext|>`).
    public func id(of token: String) -> Int? {
        ids[Array(token.utf8)].map(Int.init)
    }

    /// The token an id stands for, as the vocabulary spells it.
    public func token(of id: Int) -> String? {
        tokens.indices.contains(id) ? tokens[id] : nil
    }

    public func isSpecial(_ id: Int) -> Bool {
        special.indices.contains(id) && special[id]
    }

    /// The bytes `id` decodes to; empty for ids out of range.
    func bytes(of id: Int) -> ArraySlice<UInt8> {
        guard id >= 0 && id < vocabularySize else { return [] }
        return decodedBytes[byteStarts[id]..<byteStarts[id + 1]]
    }

    /// The text of `ids`. Byte sequences that are not valid UTF-8 (a character split across ids
    /// that are not all there) become U+FFFD. Ids out of range are skipped, as are special
    /// tokens when `skipSpecialTokens` is set.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids where !(skipSpecialTokens && isSpecial(id)) { bytes += self.bytes(of: id) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func streamingDecoder(skipSpecialTokens: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
    }

    /// The ids of `text`: added tokens are found first in the raw text, the rest is NFC
    /// normalized, searched for normalized added tokens, split into words and BPE-encoded.
    public func encode(_ text: String) -> [Int] {
        var out: [Int32] = []
        var text = text
        cacheLock.lock()
        defer { cacheLock.unlock() }
        text.withUTF8 { raw in
            rawAddedTokens.split(raw) { piece in
                switch piece {
                case .token(let id):
                    out.append(id)
                case .text(let range):
                    encodeUnnormalized(UnsafeBufferPointer(rebasing: raw[range]), into: &out, cache: &cache)
                }
            }
        }
        return out.map(Int.init)
    }

    private func encodeUnnormalized(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout WordCache) {
        // Text with no scalar from U+0300 up (no lead byte from 0xCC) is already NFC.
        guard normalizesNFC, raw.contains(where: { $0 >= 0xCC }) else {
            encodeNormalized(raw, into: &out, cache: &cache)
            return
        }
        var normalized = String(decoding: raw, as: UTF8.self).precomposedStringWithCanonicalMapping
        normalized.withUTF8 { encodeNormalized($0, into: &out, cache: &cache) }
    }

    private func encodeNormalized(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout WordCache) {
        normalizedAddedTokens.split(text) { piece in
            switch piece {
            case .token(let id):
                out.append(id)
            case .text(let range):
                let segment = UnsafeBufferPointer(rebasing: text[range])
                if addPrefixSpace && segment.first != 0x20 {
                    let spaced = [0x20] + segment
                    spaced.withUnsafeBufferPointer { encodeWords($0, into: &out, cache: &cache) }
                } else {
                    encodeWords(segment, into: &out, cache: &cache)
                }
            }
        }
    }

    private func encodeWords(_ text: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout WordCache) {
        guard useRegex else {
            encodeWord(text, into: &out, cache: &cache)
            return
        }
        WordSplitter.split(text) { encodeWord(UnsafeBufferPointer(rebasing: text[$0]), into: &out, cache: &cache) }
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout WordCache) {
        guard word.count <= WordCache.maxWordLength else {
            model.encode(word, into: &out)
            return
        }
        let hash = WordCache.hash(word)
        if cache.append(word, hash: hash, to: &out) { return }
        let start = out.count
        model.encode(word, into: &out)
        cache.insert(word, hash: hash, ids: out[start...])
    }
}
