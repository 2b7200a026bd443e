/// The one error type Molt throws. `kind` decides the exit code; `message` is the one line a
/// user reads, already naming the file, tensor or byte offset that is at fault. Control
/// characters in a message are escaped, so text from a file can never break the line or
/// reach the terminal (readers also put such text through `quoted`).
public struct MoltError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The input is malformed, malicious, truncated or inconsistent (exit 2).
        case badInput
        /// The input is well formed but uses something Molt does not support (exit 2).
        case unsupported
        /// The request itself is wrong: bad flags, an output that exists (exit 1).
        case usage
        /// Reading or writing the file system failed (exit 2).
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = escapingControlCharacters(message)
    }

    public var description: String { message }

    /// A bad-input error located in `file` (and at `offset` bytes into it, when known).
    public static func badInput(_ message: String, file: String? = nil, offset: Int? = nil) -> MoltError {
        MoltError(.badInput, located(message, file: file, offset: offset))
    }

    public static func unsupported(_ message: String, file: String? = nil) -> MoltError {
        MoltError(.unsupported, located(message, file: file, offset: nil))
    }

    /// The same error with `context` (a file or tensor name) put in front of its message.
    public func within(_ context: String) -> MoltError {
        MoltError(kind, "\(context): \(message)")
    }

    private static func located(_ message: String, file: String?, offset: Int?) -> String {
        var prefix = ""
        if let file { prefix += "\(file): " }
        if let offset { prefix += "byte \(offset): " }
        return prefix + message
    }
}

/// Overflow-checked arithmetic for sizes that come from untrusted files.
public enum Checked {
    public static func multiply(_ values: [Int], what: @autoclosure () -> String) throws -> Int {
        var product = 1
        for v in values {
            guard v >= 0 else { throw MoltError.badInput("\(what()): negative dimension \(v)") }
            let (p, overflow) = product.multipliedReportingOverflow(by: v)
            guard !overflow else { throw MoltError.badInput("\(what()): size \(values) overflows") }
            product = p
        }
        return product
    }

    public static func add(_ a: Int, _ b: Int, what: @autoclosure () -> String) throws -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw MoltError.badInput("\(what()): \(a) + \(b) overflows") }
        return s
    }
}
