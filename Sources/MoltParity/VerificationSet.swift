import MoltCore

/// The token sequences a conversion is verified on.
public struct VerificationSequence: Sendable {
    public var name: String
    public var tokens: [Int]
    /// True for tokenized text, on which perplexity means something.
    public var isText: Bool

    public init(name: String, tokens: [Int], isText: Bool) {
        self.name = name
        self.tokens = tokens
        self.isText = isText
    }
}

public enum VerificationSet {
    /// Random-id sequences: `count` sequences of `length` ids drawn uniformly from
    /// [0, vocabSize) by SplitMix64 seeded with `seed` + the sequence index, so every run and
    /// every machine verifies on the same tokens. Random ids exercise every embedding row and
    /// expert without needing a tokenizer.
    public static func random(vocabSize: Int, count: Int = 4, length: Int = 32, seed: UInt64 = 0x4D4F_4C54) -> [VerificationSequence] {
        (0..<count).map { index in
            var random = SplitMix64(seed: seed &+ UInt64(index))
            return VerificationSequence(name: "random-\(index)", tokens: random.tokens(length, below: vocabSize), isText: false)
        }
    }

    /// Tokens per sequence of the built-in text and of --calibration text (whose first 4
    /// sequences are `molt perplexity --context 128 --chunks 4`'s chunks).
    public static let builtInLength = 64
    public static let calibrationLength = 128

    /// Token ids of text split into sequences of at most `length` tokens.
    public static func text(_ ids: [Int], name: String, length: Int = 128, limit: Int = 4) -> [VerificationSequence] {
        stride(from: 0, to: ids.count, by: length).prefix(limit).enumerated().compactMap { index, start in
            let piece = Array(ids[start..<min(start + length, ids.count)])
            return piece.count >= 2 ? VerificationSequence(name: "\(name)-\(index)", tokens: piece, isText: true) : nil
        }
    }

    /// What a conversion is verified on: the seeded random sequences, plus the built-in text
    /// and `calibration` text when there is a tokenizer (`encode`).
    public static func sequences(
        vocabSize: Int, encode: ((String) -> [Int])?, calibration: String? = nil
    ) throws -> [VerificationSequence] {
        var sequences = random(vocabSize: vocabSize)
        guard let encode else { return sequences }
        sequences += text(encode(builtInText), name: "text", length: builtInLength, limit: 2)
        if let calibration { sequences += text(encode(calibration), name: "calibration", length: calibrationLength) }
        let outside = sequences.flatMap(\.tokens).first { $0 >= vocabSize }
        if let outside { throw MoltError.badInput("the tokenizer gives id \(outside), outside the model's vocabulary of \(vocabSize)") }
        return sequences
    }
}

extension VerificationSet {
    /// Text every conversion with a tokenizer is also verified on: English prose and Python
    /// code, the two kinds of text the fixture models and BlackMamba's training data share.
    public static let builtInText = """
        The mixture-of-experts layer sends each token to one expert, chosen by a router. \
        Quantization changes the weights a little, and a small change in the router's scores \
        can send a token to another expert, which changes its output entirely. That is why \
        the routing agreement is measured separately from the logits.

        def moving_average(values, window):
            total = sum(values[:window])
            averages = [total / window]
            for i in range(window, len(values)):
                total += values[i] - values[i - window]
                averages.append(total / window)
            return averages
        """
}
