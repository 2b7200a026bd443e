/// Text from a file, made safe to put in a one-line message: in single quotes, with quotes,
/// backslashes and every character that could end the line or drive a terminal (C0 and C1
/// controls, DEL, line and paragraph separators, bidirectional overrides) written as escapes,
/// and cut after `maxCharacters`. Every reader quotes names and strings from files with it.
public func quoted(_ value: some CustomStringConvertible, maxCharacters: Int = 200) -> String {
    var out = "'"
    var written = 0
    let scalars = value.description.unicodeScalars
    for scalar in scalars {
        if written == maxCharacters {
            out += "'... (\(scalars.count - written) more characters)"
            return out
        }
        written += 1
        switch scalar {
        case "'": out += "\\'"
        case "\\": out += "\\\\"
        default: appendEscaped(scalar, to: &out)
        }
    }
    return out + "'"
}

/// `text` with the characters `quoted` escapes (quotes and backslashes aside) written as
/// escapes: what every MoltError message goes through, so no message can span lines.
func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var out = ""
    for scalar in text.unicodeScalars { appendEscaped(scalar, to: &out) }
    return out
}

private func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0..<0x20, 0x7F..<0xA0, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
}

private func appendEscaped(_ scalar: Unicode.Scalar, to out: inout String) {
    guard needsEscape(scalar) else {
        out.unicodeScalars.append(scalar)
        return
    }
    switch scalar {
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case "\0": out += "\\0"
    default: out += "\\u{" + String(scalar.value, radix: 16) + "}"
    }
}
