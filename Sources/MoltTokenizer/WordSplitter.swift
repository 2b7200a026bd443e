/// GPT-2's pre-tokenization, the split Hugging Face's ByteLevel pre-tokenizer makes with
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// written out by hand over Unicode scalars. The alternatives are tried in order at each
/// position (first match wins, each one greedy), which comes down to:
///  - an apostrophe followed by a lower-case contraction suffix is a word of its own;
///  - otherwise an optional single U+0020 joins a following run of letters, of numbers, or of
///    other characters (neither whitespace, letter nor number);
///  - a whitespace run that reaches the end of the text is one word; one followed by more text
///    leaves its last character to start the next word (so " foo" keeps its space), unless the
///    run is a single character, which is then a word by itself.
enum WordSplitter {
    enum Class: UInt8 {
        case letter, number, whitespace, other
    }

    /// Calls `body` with the byte range of each word of `text` (valid UTF-8), in order; the
    /// ranges cover the text.
    static func split(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        let n = text.count
        var i = 0
        while i < n {
            let start = i
            if text[i] == UInt8(ascii: "'"), let length = contraction(text, at: i) {
                body(i..<i + length)
                i += length
                continue
            }
            let runStart = text[i] == 0x20 && i + 1 < n ? i + 1 : i
            let (kind, length) = classify(text, at: runStart)
            if kind != .whitespace {
                var end = runStart + length
                while end < n {
                    let (next, nextLength) = classify(text, at: end)
                    guard next == kind else { break }
                    end += nextLength
                }
                body(start..<end)
                i = end
                continue
            }
            // A whitespace run starting at i.
            var end = i
            var lastStart = i
            while end < n {
                let (next, nextLength) = classify(text, at: end)
                guard next == .whitespace else { break }
                lastStart = end
                end += nextLength
            }
            if end < n && lastStart > i { end = lastStart }
            body(start..<end)
            i = end
        }
    }

    /// The length of the contraction ('s 't 're 've 'm 'll 'd) at `i`, which holds an apostrophe.
    private static func contraction(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        guard i + 1 < text.count else { return nil }
        switch text[i + 1] {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < text.count && text[i + 2] == UInt8(ascii: "e") ? 3 : nil
        case UInt8(ascii: "l"):
            return i + 2 < text.count && text[i + 2] == UInt8(ascii: "l") ? 3 : nil
        default:
            return nil
        }
    }

    private static let asciiClasses: [Class] = (0..<128).map { classOf(Unicode.Scalar(UInt8($0))) }

    /// The class of the scalar starting at byte `i` and its length in bytes.
    @inline(__always)
    static func classify(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (Class, Int) {
        let lead = text[i]
        if lead < 0x80 { return (asciiClasses[Int(lead)], 1) }
        let (value, length) = decodeScalar(text, at: i)
        return (classOf(Unicode.Scalar(value) ?? "\u{FFFD}"), length)
    }

    /// \s is White_Space; \p{L} and \p{N} are the letter and number general categories.
    static func classOf(_ scalar: Unicode.Scalar) -> Class {
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }
}

/// Decodes the scalar whose (valid UTF-8) encoding starts at byte `i`: its value and length.
/// A truncated sequence yields what it has rather than reading past the buffer.
@inline(__always)
func decodeScalar(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
    let lead = UInt32(text[i])
    if lead < 0x80 { return (lead, 1) }
    let length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    var value = lead & (0xFF >> (length + 1))
    var j = 1
    while j < length && i + j < text.count {
        value = value << 6 | UInt32(text[i + j] & 0x3F)
        j += 1
    }
    return (value, j)
}
