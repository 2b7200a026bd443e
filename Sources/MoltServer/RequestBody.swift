import Foundation
import MoltCore

/// A JSON request body, read field by field so that every problem names its field. Fields the
/// server does not know are ignored, as OpenAI's clients send many (`user`, `logprobs`, ...).
struct RequestFields {
    private let fields: JSON

    init(_ body: Data) throws {
        let value: JSON
        do {
            value = try JSONDecoder().decode(JSON.self, from: body)
        } catch {
            throw APIError(.badRequest, "the request body is not valid JSON")
        }
        guard case .object = value else {
            throw APIError(.badRequest, "the request body must be a JSON object, not \(value.kindName)")
        }
        fields = value
    }

    /// The value of `name`, absent when missing or null.
    subscript(name: String) -> JSON? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    func require(_ name: String) throws -> JSON {
        guard let value = self[name] else { throw APIError.field(name, "is required") }
        return value
    }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = self[name] else { return nil }
        guard case .int(let n) = value else { throw APIError.field(name, "must be an integer, not \(value.kindName)") }
        guard range.contains(n) else { throw APIError.field(name, "must be in \(range.lowerBound)...\(range.upperBound), not \(n)") }
        return n
    }

    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = self[name] else { return nil }
        let x: Double
        switch value {
        case .int(let n): x = Double(n)
        case .double(let d): x = d
        default: throw APIError.field(name, "must be a number, not \(value.kindName)")
        }
        guard range.contains(x) else { throw APIError.field(name, "must be in \(range.lowerBound)...\(range.upperBound), not \(x)") }
        return x
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = self[name] else { return nil }
        guard case .bool(let b) = value else { throw APIError.field(name, "must be true or false, not \(value.kindName)") }
        return b
    }

    func string(_ name: String) throws -> String? {
        guard let value = self[name] else { return nil }
        guard case .string(let s) = value else { throw APIError.field(name, "must be a string, not \(value.kindName)") }
        return s
    }

    /// A list of token ids (range-checked later, against the model).
    func tokenIDs(_ name: String) throws -> [Int] {
        try Self.tokenIDs(try require(name), field: name)
    }

    static func tokenIDs(_ value: JSON, field: String) throws -> [Int] {
        guard case .array(let items) = value else { throw APIError.field(field, "must be an array of token ids, not \(value.kindName)") }
        return try items.enumerated().map { i, item in
            guard case .int(let id) = item else { throw APIError.field(field, "must hold token ids: item \(i) is \(item.kindName)") }
            return id
        }
    }
}

/// Sampling and length fields shared by both completion endpoints.
struct GenerationParameters {
    var maxTokens: Int?
    var temperature: Float
    var topP: Float
    var topK: Int
    var seed: UInt64
    var stop: [String]
    var stream: Bool
    /// llama-server's option to generate past the end-of-text token.
    var ignoreEndOfText: Bool

    /// Most stop strings a request may give (OpenAI allows 4).
    static let maxStops = 16

    init(_ body: RequestFields) throws {
        maxTokens = try body.int("max_tokens", in: 0...Int(Int32.max)) ?? body.int("max_completion_tokens", in: 0...Int(Int32.max))
        // OpenAI's defaults: temperature 1, no nucleus or top-k limit.
        temperature = Float(try body.number("temperature", in: 0...100) ?? 1)
        topP = Float(try body.number("top_p", in: 0...1) ?? 1)
        guard topP > 0 else { throw APIError.field("top_p", "must be above 0") }
        topK = try body.int("top_k", in: 0...Int(Int32.max)) ?? 0
        // Without a seed, each request draws its own, as OpenAI's sampling is not repeatable.
        seed = UInt64(bitPattern: Int64(try body.int("seed", in: Int.min...Int.max) ?? Int.random(in: Int.min...Int.max)))
        stream = try body.bool("stream") ?? false
        ignoreEndOfText = try body.bool("ignore_eos") ?? false
        switch body["stop"] {
        case nil: stop = []
        case .string(let s)?: stop = [s]
        case .array(let items)?:
            stop = try items.enumerated().map { i, item in
                guard case .string(let s) = item else { throw APIError.field("stop", "must be a string or an array of strings: item \(i) is \(item.kindName)") }
                return s
            }
        case let value?: throw APIError.field("stop", "must be a string or an array of strings, not \(value.kindName)")
        }
        guard stop.count <= Self.maxStops else { throw APIError.field("stop", "holds \(stop.count) strings; at most \(Self.maxStops)") }
        guard !stop.contains("") else { throw APIError.field("stop", "must not hold an empty string") }
        if let n = try body.int("n", in: Int.min...Int.max), n != 1 {
            throw APIError.field("n", "must be 1: one choice per request")
        }
    }
}
