/// Decodes ids one at a time while they are generated: each `feed` returns the text that has
/// just become complete, holding back the bytes of a character whose remaining bytes may still
/// come in the next ids. The pieces it returns, followed by `flush()`, add up to exactly what
/// `Tokenizer.decode` gives for all the ids at once (U+FFFD included).
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    init(tokenizer: Tokenizer, skipSpecialTokens: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the text now complete (often empty while a character is split).
    public mutating func feed(_ id: Int) -> String {
        guard !(skipSpecialTokens && tokenizer.isSpecial(id)) else { return "" }
        pending += tokenizer.bytes(of: id)
        let complete = Self.completeLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Returns whatever is held back, an unfinished character as U+FFFD, and starts afresh.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the prefix of `bytes` that more bytes cannot change: all of it, unless it
    /// ends with the start of a character that is well formed so far but unfinished. Such a
    /// start is a lead byte, and a lead byte always begins a new sequence for the decoder, so
    /// decoding the prefix alone gives what decoding everything gives for it.
    static func completeLength(_ bytes: [UInt8]) -> Int {
        var lead = bytes.count - 1
        while lead >= 0 && lead >= bytes.count - 3 && bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0, bytes[lead] >= 0xC2, bytes[lead] <= 0xF4 else { return bytes.count }
        let first = bytes[lead]
        let needed = first < 0xE0 ? 2 : first < 0xF0 ? 3 : 4
        let have = bytes.count - lead
        guard have < needed else { return bytes.count }
        if have >= 2 {
            // The second byte's range depends on the lead (no overlongs, surrogates or > U+10FFFF).
            let second = bytes[lead + 1]
            let range: ClosedRange<UInt8> =
                switch first {
                case 0xE0: 0xA0...0xBF
                case 0xED: 0x80...0x9F
                case 0xF0: 0x90...0xBF
                case 0xF4: 0x80...0x8F
                default: 0x80...0xBF
                }
            guard range.contains(second) else { return bytes.count }
        }
        return lead
    }
}
