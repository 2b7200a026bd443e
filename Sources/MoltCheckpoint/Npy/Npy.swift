#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoltCore

/// NumPy's .npy format (numpy.lib.format): Molt writes format 1.0 little-endian float32 arrays
/// in C order, and reads float32 or float64 C-order arrays back, checking every header field
/// and the file's length against the header.
public enum Npy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Writes `values` as a float32 array of `shape`, under a temporary name renamed into place
    /// when complete; an existing file is replaced only with `overwrite`.
    public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String, overwrite: Bool) throws {
        let count = try Checked.multiply(shape, what: "shape \(shape)")
        guard count == values.count else {
            throw MoltError(.usage, "\(path): shape \(shape) holds \(count) values, not \(values.count)")
        }
        let head = try header(shape: shape, descr: "<f4")
        let output = try AtomicOutput(path: path, overwrite: overwrite)
        try head.withUnsafeBytes { try output.write($0) }
        try output.write(UnsafeRawBufferPointer(values))
        try output.commit()
    }

    public static func write(_ values: [Float], shape: [Int], to path: String, overwrite: Bool) throws {
        try values.withUnsafeBufferPointer { try write($0, shape: shape, to: path, overwrite: overwrite) }
    }

    /// Reads a '<f4' or '<f8' C-order array. The tensor views the mapped file, without a copy.
    public static func read(path: String) throws -> Tensor {
        let file = try MappedFile(path: path)
        let (dtype, shape, dataStart) = try parseHeader(file.bytes, file: path)
        return try Tensor(storage: Storage(file: file, range: dataStart..<file.count), dtype: dtype, shape: shape)
    }

    /// A format 1.0 header, padded with spaces so the data starts at a multiple of 64 bytes.
    static func header(shape: [Int], descr: String) throws -> [UInt8] {
        let dims = shape.map(String.init)
        let tuple = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var dict = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(tuple), }".utf8)
        let unpadded = magic.count + 4 + dict.count + 1
        dict += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0A]
        guard dict.count <= Int(UInt16.max) else { throw MoltError(.usage, "shape \(shape) is too long for an .npy header") }
        return magic + [1, 0, UInt8(dict.count & 0xFF), UInt8(dict.count >> 8)] + dict
    }

    /// The element type, shape and data offset of an .npy file, after checking that the data
    /// exactly fills the rest of the file.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, file: String) throws -> (DType, [Int], Int) {
        func bad(_ message: String) -> MoltError { .badInput(message, file: file) }
        guard bytes.count >= 10, bytes.prefix(6).elementsEqual(magic) else {
            throw bad("not a .npy file: it does not start with \\x93NUMPY and a version")
        }
        let lengthSize: Int
        switch (bytes[6], bytes[7]) {
        case (1, 0): lengthSize = 2
        case (2, 0), (3, 0): lengthSize = 4
        case let (major, minor): throw MoltError.unsupported(".npy format version \(major).\(minor) is not 1.0, 2.0 or 3.0", file: file)
        }
        guard bytes.count >= 8 + lengthSize else { throw bad("truncated: the file ends inside the header length") }
        var headerLength = 0
        for i in 0..<lengthSize { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        let headerStart = 8 + lengthSize
        guard headerLength <= bytes.count - headerStart else {
            throw bad("truncated: the header says it is \(headerLength) bytes but only \(bytes.count - headerStart) follow")
        }
        let text = Array(bytes[headerStart..<headerStart + headerLength])
        guard text.last == 0x0A else { throw bad("the header does not end with a newline") }

        var parser = HeaderParser(text: text)
        let fields: [String: HeaderParser.Value]
        do { fields = try parser.dictionary() } catch let error as MoltError { throw bad("header: \(error.message)") }
        guard Set(fields.keys) == ["descr", "fortran_order", "shape"] else {
            throw bad("header keys are \(fields.keys.sorted()); expected descr, fortran_order and shape")
        }
        guard case .string(let descr)? = fields["descr"], case .bool(let fortran)? = fields["fortran_order"],
            case .tuple(let shape)? = fields["shape"]
        else { throw bad("header: descr must be a string, fortran_order a boolean and shape a tuple") }
        let dtype: DType
        switch descr {
        case "<f4": dtype = .f32
        case "<f8": dtype = .f64
        default: throw MoltError.unsupported("element type '\(descr)': only '<f4' and '<f8' are read", file: file)
        }
        guard !fortran else { throw MoltError.unsupported("Fortran-order arrays are not read", file: file) }

        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        let needed: Int
        do {
            needed = try Checked.multiply(shape + [dtype.size], what: "shape \(shape)")
        } catch let error as MoltError {
            throw bad(error.message)
        }
        guard needed <= available else {
            throw bad("truncated: shape \(shape) of \(descr) needs \(needed) data bytes but \(available) follow the header")
        }
        guard needed == available else {
            throw bad("\(available - needed) bytes follow the \(needed) data bytes that shape \(shape) of \(descr) needs")
        }
        return (dtype, shape, dataStart)
    }
}

/// The Python dict literal of an .npy header, limited to what NumPy writes: string keys and
/// values that are strings, True/False or tuples of non-negative integers.
private struct HeaderParser {
    enum Value {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    let text: [UInt8]
    var at = 0

    init(text: [UInt8]) {
        self.text = text
    }

    mutating func dictionary() throws -> [String: Value] {
        var fields: [String: Value] = [:]
        skipSpaces()
        try expect("{")
        while true {
            skipSpaces()
            if peek("}") { break }
            let key = try string()
            skipSpaces()
            try expect(":")
            skipSpaces()
            guard fields.updateValue(try value(), forKey: key) == nil else { throw problem("key '\(key)' appears twice") }
            skipSpaces()
            if peek(",") {
                at += 1
                continue
            }
            guard peek("}") else { throw problem("expected ',' or '}'") }
            break
        }
        at += 1
        skipSpaces()
        guard at == text.count else { throw problem("unexpected text after the dict") }
        return fields
    }

    private mutating func value() throws -> Value {
        if peek("'") || peek("\"") { return .string(try string()) }
        if peek("(") { return .tuple(try tuple()) }
        if word("True") { return .bool(true) }
        if word("False") { return .bool(false) }
        throw problem("expected a string, True, False or a tuple")
    }

    private mutating func string() throws -> String {
        guard at < text.count, text[at] == 0x27 || text[at] == 0x22 else { throw problem("expected a quoted string") }
        let quote = text[at]
        guard let end = text[(at + 1)...].firstIndex(of: quote) else { throw problem("unterminated string") }
        defer { at = end + 1 }
        return String(decoding: text[(at + 1)..<end], as: UTF8.self)
    }

    private mutating func tuple() throws -> [Int] {
        try expect("(")
        var items: [Int] = []
        var trailingComma = false
        while true {
            skipSpaces()
            if peek(")") { break }
            items.append(try integer())
            skipSpaces()
            trailingComma = peek(",")
            if trailingComma { at += 1 } else if !peek(")") { throw problem("expected ',' or ')' in the shape") }
        }
        at += 1
        // Python reads "(3)" as the integer 3, not a shape.
        guard items.count != 1 || trailingComma else { throw problem("the shape (\(items[0])) is not a tuple") }
        return items
    }

    private mutating func integer() throws -> Int {
        let start = at
        while at < text.count, (0x30...0x39).contains(text[at]) { at += 1 }
        guard at > start else { throw problem("expected a non-negative integer") }
        guard at - start <= 18, let value = Int(String(decoding: text[start..<at], as: UTF8.self)) else {
            throw problem("dimension \(String(decoding: text[start..<at], as: UTF8.self)) is too large")
        }
        return value
    }

    private mutating func skipSpaces() {
        while at < text.count, text[at] == 0x20 || text[at] == 0x0A || text[at] == 0x09 { at += 1 }
    }

    private func peek(_ character: Character) -> Bool {
        at < text.count && text[at] == character.asciiValue
    }

    private mutating func expect(_ character: Character) throws {
        guard peek(character) else { throw problem("expected '\(character)'") }
        at += 1
    }

    private mutating func word(_ w: String) -> Bool {
        let bytes = Array(w.utf8)
        guard text.count - at >= bytes.count, text[at..<at + bytes.count].elementsEqual(bytes) else { return false }
        at += bytes.count
        return true
    }

    private func problem(_ message: String) -> MoltError {
        MoltError.badInput("\(message) at character \(at)")
    }
}
