/// Finds added tokens (<|endoftext|>, GPT-NeoX's runs of spaces, …) in a piece of text the way
/// Hugging Face's added vocabulary does: scanning left to right, at the first position where
/// any token matches take the longest one there, then carry on after it.
///  - `single_word`: the match is dropped (and the scan still carries on after it) when the
///    character before or after it is a word character (\w: alphabetic, mark, decimal digit,
///    connector punctuation, join control).
///  - `lstrip` / `rstrip`: whitespace just before / after the match becomes part of the token,
///    so it is not encoded as text. Whitespace already taken by the previous token stays there.
///  - The scan carries on after the match itself, not after what `rstrip` took, so a token
///    inside that whitespace (a no-break space after an `rstrip` one) is still emitted, and the
///    text after it resumes from its end, as Hugging Face does.
struct AddedTokenMatcher: Sendable {
    struct Pattern: Sendable {
        let bytes: [UInt8]
        let id: Int32
        let lstrip: Bool
        let rstrip: Bool
        let singleWord: Bool
    }

    enum Piece {
        case text(Range<Int>)
        case token(Int32)
    }

    private let patterns: [Pattern]
    /// Indices into `patterns` by first byte, longest first.
    private let byFirstByte: [[Int]]

    init(_ patterns: [Pattern]) {
        self.patterns = patterns
        var table = [[Int]](repeating: [], count: 256)
        for (i, p) in patterns.enumerated() where !p.bytes.isEmpty { table[Int(p.bytes[0])].append(i) }
        byFirstByte = table.map { $0.sorted { patterns[$0].bytes.count > patterns[$1].bytes.count } }
    }

    /// Splits `text` (valid UTF-8) into added tokens and the non-empty text between them.
    func split(_ text: UnsafeBufferPointer<UInt8>, _ body: (Piece) -> Void) {
        let n = text.count
        var done = 0
        var i = 0
        while i < n {
            guard let pattern = longestMatch(text, at: i) else {
                i += 1
                continue
            }
            var start = i
            var stop = i + pattern.bytes.count
            i = stop
            if pattern.singleWord && ((start > 0 && isWordCharacter(before: start, text)) || (stop < n && isWordCharacter(at: stop, text))) {
                continue
            }
            if pattern.lstrip { start = max(done, whitespaceStart(before: start, text)) }
            if pattern.rstrip { stop = whitespaceEnd(from: stop, text) }
            if done < start { body(.text(done..<start)) }
            body(.token(pattern.id))
            done = stop
        }
        if done < n { body(.text(done..<n)) }
    }

    private func longestMatch(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> Pattern? {
        for index in byFirstByte[Int(text[i])] {
            let p = patterns[index]
            guard p.bytes.count <= text.count - i else { continue }
            var j = 1
            while j < p.bytes.count && text[i + j] == p.bytes[j] { j += 1 }
            if j == p.bytes.count { return p }
        }
        return nil
    }

    private func scalar(endingBefore end: Int, _ text: UnsafeBufferPointer<UInt8>) -> (Unicode.Scalar, Int) {
        var start = end - 1
        while start > 0 && text[start] & 0xC0 == 0x80 { start -= 1 }
        let (value, _) = decodeScalar(text, at: start)
        return (Unicode.Scalar(value) ?? "\u{FFFD}", start)
    }

    private func scalar(at i: Int, _ text: UnsafeBufferPointer<UInt8>) -> (Unicode.Scalar, Int) {
        guard text[i] >= 0x80 else { return (Unicode.Scalar(text[i]), 1) }
        let (value, length) = decodeScalar(text, at: i)
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }

    private func isWordCharacter(before end: Int, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        isWord(scalar(endingBefore: end, text).0)
    }

    private func isWordCharacter(at i: Int, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        isWord(scalar(at: i, text).0)
    }

    private func isWord(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return p.isAlphabetic || p.isJoinControl
        }
    }

    private func whitespaceStart(before end: Int, _ text: UnsafeBufferPointer<UInt8>) -> Int {
        var start = end
        while start > 0 {
            let (s, previous) = scalar(endingBefore: start, text)
            guard s.properties.isWhitespace else { break }
            start = previous
        }
        return start
    }

    private func whitespaceEnd(from begin: Int, _ text: UnsafeBufferPointer<UInt8>) -> Int {
        var end = begin
        while end < text.count {
            let (s, length) = scalar(at: end, text)
            guard s.properties.isWhitespace else { break }
            end += length
        }
        return end
    }
}
