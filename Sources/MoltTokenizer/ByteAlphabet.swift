/// GPT-2's byte-to-character table. Byte-level BPE spells every byte as one printable
/// character so that tokens are ordinary strings without spaces or control characters: bytes
/// that are already visible Latin-1 characters stand for themselves, and the other 68 (controls,
/// space, DEL, the C1 range, no-break space and soft hyphen) take U+0100, U+0101, … in byte order.
enum ByteAlphabet {
    /// The character standing for each byte.
    static let characterOfByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet character stands for, indexed by scalar value (all are below 0x144).
    static let byteOfCharacter: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in characterOfByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    static func standsForItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The bytes a token stands for, the way Hugging Face's ByteLevel decoder reads it: every
    /// character mapped back through the table, or, when any character is not in the table
    /// (added tokens such as a run of spaces), the token's own UTF-8.
    static func bytes(of token: String) -> [UInt8] {
        spelledBytes(token) ?? Array(token.utf8)
    }

    /// The bytes `token` spells when it is written wholly in the alphabet.
    static func spelledBytes(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let v = Int(scalar.value)
            guard v < byteOfCharacter.count, byteOfCharacter[v] >= 0 else { return nil }
            out.append(UInt8(byteOfCharacter[v]))
        }
        return out
    }
}
