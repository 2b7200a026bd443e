/// Decoders for the text arguments of protocol 0 opcodes, as CPython decodes them.
enum PickleText {
    /// A decimal integer line (INT, LONG without its `L`). Returns nil when the text is not
    /// an integer; `fits` is false for an integer outside Int64.
    static func integer(_ text: String) -> (value: Int64, fits: Bool)? {
        let trimmed = text.trimmingSpaces
        var digits = Substring(trimmed)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        guard let value = Int64(trimmed) else { return (0, false) }
        return (value, true)
    }

    /// `codecs.escape_decode`, which STRING arguments go through: backslash escapes of a
    /// Python 2 byte string literal. Nil for a malformed `\x` escape or a trailing backslash.
    static func escapeDecode(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = input.startIndex
        while i < input.endIndex {
            let c = input[i]
            i += 1
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard i < input.endIndex else { return nil }
            let e = input[i]
            i += 1
            switch e {
            case UInt8(ascii: "\n"): break
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(e)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - UInt8(ascii: "0"))
                var n = 1
                while n < 3, i < input.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(input[i]) {
                    value = value * 8 + Int(input[i] - UInt8(ascii: "0"))
                    i += 1
                    n += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                guard i + 1 < input.endIndex, let hi = hexValue(input[i]), let lo = hexValue(input[i + 1]) else { return nil }
                out.append(UInt8(hi << 4 | lo))
                i += 2
            default:
                // Unknown escapes stay as written.
                out.append(c)
                out.append(e)
            }
        }
        return out
    }

    /// `raw-unicode-escape`, which UNICODE arguments use: bytes are Latin-1 code points except
    /// `\uXXXX` and `\UXXXXXXXX` after an odd number of backslashes. Nil when malformed or
    /// when it names a code point Swift strings cannot hold (a lone surrogate).
    static func rawUnicodeEscape(_ input: ArraySlice<UInt8>) -> String? {
        var scalars = String.UnicodeScalarView()
        var i = input.startIndex
        while i < input.endIndex {
            guard input[i] == UInt8(ascii: "\\") else {
                scalars.append(Unicode.Scalar(input[i]))
                i += 1
                continue
            }
            var backslashes = 0
            while i < input.endIndex, input[i] == UInt8(ascii: "\\") {
                scalars.append("\\")
                backslashes += 1
                i += 1
            }
            guard backslashes % 2 == 1, i < input.endIndex, input[i] == UInt8(ascii: "u") || input[i] == UInt8(ascii: "U") else {
                continue
            }
            scalars.removeLast()
            let count = input[i] == UInt8(ascii: "u") ? 4 : 8
            i += 1
            guard input.endIndex - i >= count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = hexValue(input[i]) else { return nil }
                value = value << 4 | UInt32(digit)
                i += 1
            }
            guard let scalar = Unicode.Scalar(value) else { return nil }
            scalars.append(scalar)
        }
        return String(scalars)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
