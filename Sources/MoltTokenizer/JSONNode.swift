import MoltCore

/// A JSON value together with where it sits in the file, so every complaint about it can name
/// the file and the JSON path (`model.merges[12]`).
struct JSONNode {
    let value: JSON
    let path: String
    let file: String

    func badInput(_ message: String) -> MoltError {
        MoltError.badInput("\(path.isEmpty ? "top level" : path): \(message)", file: file)
    }

    func unsupported(_ message: String) -> MoltError {
        MoltError.unsupported("\(path.isEmpty ? "top level" : path): \(message)", file: file)
    }

    private func wrongType(_ expected: String) -> MoltError {
        badInput("expected \(expected), found \(value.kindName)")
    }

    var isNull: Bool { if case .null = value { true } else { false } }

    func members() throws -> [(key: String, node: JSONNode)] {
        guard case .object(let members) = value else { throw wrongType("an object") }
        return members.map { key, value in (key, child(key: key, value)) }
    }

    func elements() throws -> [JSONNode] {
        guard case .array(let elements) = value else { throw wrongType("an array") }
        return elements.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// The member `key` of this object, or nil when it is absent.
    func optional(_ key: String) throws -> JSONNode? {
        guard case .object(let members) = value else { throw wrongType("an object") }
        return members.first { $0.0 == key }.map { child(key: key, $0.1) }
    }

    /// The member `key`, treating an explicit null like an absent member.
    func optionalNonNull(_ key: String) throws -> JSONNode? {
        guard let node = try optional(key), !node.isNull else { return nil }
        return node
    }

    func required(_ key: String) throws -> JSONNode {
        guard let node = try optional(key) else {
            let field = path.isEmpty ? key : "\(path).\(key)"
            throw MoltError.badInput("\(field): missing", file: file)
        }
        return node
    }

    func string() throws -> String {
        guard case .string(let s) = value else { throw wrongType("a string") }
        return s
    }

    func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw wrongType("true or false") }
        return b
    }

    /// A whole number written without fraction or exponent, as token ids are.
    func int() throws -> Int {
        switch value {
        case .int(let n): return n
        case .double(let d): throw badInput("\(d) is not an integer that fits 64 bits")
        default: throw wrongType("an integer")
        }
    }

    func number() throws -> Double {
        switch value {
        case .int(let n): return Double(n)
        case .double(let d): return d
        default: throw wrongType("a number")
        }
    }

    /// An optional boolean member, `fallback` when absent or null.
    func flag(_ key: String, default fallback: Bool) throws -> Bool {
        try optionalNonNull(key)?.bool() ?? fallback
    }

    /// The `type` member naming which kind of component this object is.
    func typeName() throws -> String {
        try required("type").string()
    }

    private func child(key: String, _ value: JSON) -> JSONNode {
        let isIdentifier = !key.isEmpty && key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        let step = isIdentifier ? (path.isEmpty ? key : ".\(key)") : "[\(quoted(key))]"
        return JSONNode(value: value, path: path + step, file: file)
    }
}

/// A token or key shown in an error message: quoted, with control characters escaped and
/// long text shortened.
func quoted(_ text: String) -> String {
    var out = "\""
    for (i, scalar) in text.unicodeScalars.enumerated() {
        if i == 40 {
            out += "…"
            break
        }
        out += scalar.properties.generalCategory == .control || scalar == "\"" ? scalar.escaped(asASCII: true) : String(scalar)
    }
    return out + "\""
}
