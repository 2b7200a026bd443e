import Foundation
import MoltCalibration
import MoltCheckpoint
import MoltCore
import MoltRuntime
import MoltTokenizer

/// How `molt calibrate` and `molt convert` get calibration statistics (Formats/calibration.md).
enum CalibrationSupport {
    /// The source's identity from its weight files: name, SHA-256, size.
    static func identity(_ files: [(path: String, sha256: String, size: Int)]) -> CalibrationStatistics.Source {
        CalibrationStatistics.Source(files: files.map {
            .init(name: ($0.path as NSString).lastPathComponent, sha256: $0.sha256, size: $0.size)
        })
    }

    static func hashFiles(_ checkpoint: Checkpoint) throws -> CalibrationStatistics.Source {
        identity(try checkpoint.files.map { path in
            let file = try MappedFile(path: path)
            return (path, file.sha256(), file.count)
        })
    }

    /// Statistics from `textPath` (its first `limit` tokens) or, without text, from text the
    /// source generates itself with `seed`; with a progress line. The source's identity is
    /// asked for only at the end, so that its files can be hashed on the other core meanwhile.
    static func measure(
        checkpoint: Checkpoint, source: () throws -> CalibrationStatistics.Source, textPath: String?, tokenizer: Tokenizer?, limit: Int,
        seed: UInt64, gram: Bool
    ) throws -> CalibrationStatistics {
        let config = try checkpoint.requireModel()
        guard limit > 0 else { throw MoltError(.usage, "--calibration-tokens must be at least 1, not \(limit)") }
        if let textPath {
            guard let tokenizer else { throw MoltError(.usage, "calibration text needs a tokenizer: pass --tokenizer") }
            // Valid UTF-8 round-trips, so these are the file's bytes and the hash is the file's.
            let contents = try Input.textFile(textPath)
            let data = Data(contents.utf8)
            let tokens = Array(tokenizer.encode(contents).prefix(limit))
            let text = JSON.object([
                ("kind", .string("file")), ("sha256", .string(data.sha256Hex)), ("bytes", .int(data.count)),
            ])
            var progress = Progress(total: tokens.count, label: "calibrate", unit: "tokens")
            defer { progress.finish() }
            return try checkpoint.tensors.verifyingIntegrity {
                try Calibration.measure(
                    config: config, tensors: checkpoint.tensors.byName, source: try source(), tokens: tokens, text: text, gram: gram
                ) { progress.advance(by: $0) }
            }
        }
        var progress = Progress(
            total: Calibration.selfGeneratedStarts * Calibration.selfGeneratedLength, label: "calibrate (self-generated)", unit: "tokens")
        defer { progress.finish() }
        return try checkpoint.tensors.verifyingIntegrity {
            try Calibration.selfGenerated(
                config: config, tensors: checkpoint.tensors.byName, source: try source(), seed: seed, gram: gram
            ) { progress.advance(by: $0) }
        }
    }

    /// One line on what calibrated: the text, tokens, and the experts' routed-token range.
    static func summary(_ s: CalibrationStatistics) -> String {
        let text: String
        if s.text["kind"] == .string("file"), case .string(let sha) = s.text["sha256"] ?? .null {
            text = "text sha256 \(sha.prefix(12))…"
        } else {
            text = "self-generated text (seed \(s.text["seed"]?.serialized() ?? "?"))"
        }
        let counts = s.experts.map(\.routedTokens)
        let filled = s.experts.filter(\.filled).count
        return "calibrated on \(s.tokens) tokens of \(text); experts got \(counts.min() ?? 0)-\(counts.max() ?? 0) routed tokens"
            + (filled > 0 ? ", \(filled) below the floor of \(s.expertFloor) filled from the layer's reservoir" : "")
    }
}
