import Foundation
import MoltCore

/// Text a command takes: from the command line, standard input or a file.
enum Input {
    /// `argument` itself, or standard input when it is "-".
    static func text(_ argument: String) throws -> String {
        guard argument == "-" else { return argument }
        var lines: [String] = []
        while let line = readLine(strippingNewline: false) { lines.append(line) }
        return lines.joined()
    }

    /// The contents of a text file, refused unless it is UTF-8 without NUL bytes: a binary
    /// file given by mistake would otherwise be tokenized byte by byte and run for minutes.
    static func textFile(_ path: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MoltError(.io, "\(path): cannot read")
        }
        var bytes = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar):
                if scalar.contains(0) {
                    throw MoltError.badInput("not a text file (a NUL byte)", file: path, offset: offset)
                }
                offset += scalar.count
            case .error:
                throw MoltError.badInput("not UTF-8 text", file: path, offset: offset)
            case .emptyInput:
                return String(decoding: data, as: UTF8.self)
            }
        }
    }
}
