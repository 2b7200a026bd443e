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

    /// The errors callers and tests tell apart, by name rather than by their text (as
    /// safetensors' error enum does). Each keeps the message it has always had; the static
    /// functions of the same names make them.
    public enum Reason: Sendable, Equatable {
        /// An output file exists and overwriting was not asked for.
        case outputExists
        /// No token ids were given.
        case noTokens
        /// A token id outside the embedding's rows.
        case tokenOutOfVocabulary
        /// A state dict whose tensors do not match its config.
        case tensorsDoNotMatchConfig
        /// A decode state used with a model that did not make it.
        case stateOfAnotherModel
        /// One decode state given for two sequences of a batch.
        case stateGivenTwice
        /// A batch given with another number of decode states.
        case statesDoNotMatchBatch
        /// `MOLT_KERNELS` names no instruction-set level.
        case unknownKernelPath
        /// `MOLT_KERNELS` names a level this CPU lacks.
        case kernelPathUnavailable
    }

    public let kind: Kind
    public let message: String
    /// Set for the errors callers tell apart.
    public let reason: Reason?

    public init(_ kind: Kind, _ message: String, reason: Reason? = nil) {
        self.kind = kind
        self.message = escapingControlCharacters(message)
        self.reason = reason
    }

    public static func outputExists(path: String) -> MoltError {
        MoltError(.usage, "\(path) exists; pass --force to overwrite", reason: .outputExists)
    }

    public static let noTokens = MoltError(.badInput, "no token ids given", reason: .noTokens)

    public static func tokenOutOfVocabulary(id: Int, position: Int, vocabularyRows: Int) -> MoltError {
        MoltError(
            .badInput, "token id \(id) at position \(position) is outside the vocabulary 0..<\(vocabularyRows)",
            reason: .tokenOutOfVocabulary)
    }

    /// Every problem, one a line.
    public static func tensorsDoNotMatchConfig(problems: [String]) -> MoltError {
        MoltError(
            .badInput, "the tensors do not match the config (\(problems.count) problems):\n  " + problems.joined(separator: "\n  "),
            reason: .tensorsDoNotMatchConfig)
    }

    public static let stateOfAnotherModel = MoltError(
        .usage, "the decode state was made by another model", reason: .stateOfAnotherModel)

    public static let stateGivenTwice = MoltError(
        .usage, "the same decode state was given for two sequences", reason: .stateGivenTwice)

    public static func statesDoNotMatchBatch(sequences: Int, states: Int) -> MoltError {
        MoltError(.usage, "\(sequences) sequences given with \(states) states", reason: .statesDoNotMatchBatch)
    }

    public static func unknownKernelPath(name: String, levels: [String]) -> MoltError {
        MoltError(
            .usage, "MOLT_KERNELS=\(quoted(name)): expected one of \(levels.joined(separator: ", "))", reason: .unknownKernelPath)
    }

    /// `available`: the levels this CPU has.
    public static func kernelPathUnavailable(name: String, available: [String]) -> MoltError {
        MoltError(
            .usage, "MOLT_KERNELS=\(name): this CPU lacks \(name); it runs \(available.joined(separator: ", "))",
            reason: .kernelPathUnavailable)
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
