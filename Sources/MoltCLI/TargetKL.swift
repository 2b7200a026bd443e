import Foundation
import MoltCalibration
import MoltCore
import MoltFormat
import MoltParity
import MoltQuant

/// What `molt convert --target-kl` needs beside the promotion rule itself
/// (MoltCalibration's `Promotion`, Formats/calibration.md): the candidates measured on a
/// round's file, and the lines and records that report the rounds.
enum TargetKL {
    /// Every tensor `original` quantizes, at its type in `converter`, with its sensitivity
    /// measured on the values `stored` holds.
    static func candidates(
        _ converter: Converter, original: Recipe, statistics: CalibrationStatistics, stored: MoltFile
    ) throws -> [Promotion.Candidate] {
        try converter.ordered.compactMap { name, tensor in
            guard original.type(of: name, tensor).isQuantized else { return nil }
            guard let s = statistics.statistics(of: name) else { throw MoltError.badInput("no calibration statistics for tensor \(name)") }
            let source = try tensor.floatValues(), values = try stored.dequantized(name).floatValues()
            let sensitivity = try source.withUnsafeBufferPointer { w in
                try values.withUnsafeBufferPointer { q in
                    try Promotion.sensitivity(source: w, stored: q, statistics: s, calibrationTokens: statistics.tokens)
                        + (name == TensorNames.embedding ? Promotion.lookupSensitivity(source: w, stored: q) : 0)
                }
            }
            return Promotion.Candidate(
                name: name, parameters: tensor.count, source: tensor.dtype, type: converter.recipe.type(of: name, tensor),
                sensitivity: sensitivity)
        }
    }

    /// `quantization.target_kl` for the file of round `round`.
    static func record(target: Double, round: Int, recipe: Recipe) -> JSON {
        .object([
            ("target", .double(target)), ("rounds", .int(round)),
            ("promoted", .object(recipe.promoted.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.rawValue)) })),
        ])
    }

    /// One round's outcome, and what the next one widens.
    static func roundLine(round: Int, report: ParityReport, target: Double, promoted: [String: MoltTensorType], _ converter: Converter) -> String {
        var line = String(
            format: "target-kl: round %d: mean KL %.3g against %.3g at %.2f bits per weight", round, report.worstMeanKL, target,
            converter.bitsPerWeight)
        if !report.passed, report.worstMeanKL <= target { line += " (" + report.failures.joined(separator: "; ") + ")" }
        guard !promoted.isEmpty else { return line + "; nothing left to widen" }
        let counts = Dictionary(grouping: promoted.values, by: { $0 }).map { "\($0.value.count) to \($0.key.rawValue)" }.sorted()
        return line + "; widening " + counts.joined(separator: ", ")
    }
}
