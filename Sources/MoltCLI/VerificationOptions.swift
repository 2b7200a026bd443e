import ArgumentParser
import Foundation
import MoltCore
import MoltParity
import MoltTokenizer

/// The flags of a conversion's verification that `molt convert` and `molt verify --against`
/// share; the policy itself is MoltParity's `Verification`.
struct VerificationOptions: ParsableArguments {
    @Option(help: "Largest mean KL(source || converted) allowed, in nats.")
    var maxKL: Double = Thresholds().maxMeanKL

    @Option(help: "Smallest share of positions whose most likely token must agree.")
    var minTop1: Double = Thresholds().minTop1

    @Option(help: "Smallest share of tokens each MoE layer must route to the same expert.")
    var minRouting: Double = Thresholds().minRouting

    @Option(help: "A text file to verify on as well (needs a tokenizer); perplexity of both models is reported on it.")
    var calibration: String?

    @Option(help: "Write the parity report as JSON to this file (an existing one only with --force).")
    var report: String?

    var thresholds: Thresholds { Thresholds(maxMeanKL: maxKL, minTop1: minTop1, minRouting: minRouting) }

    /// The sequences the flags ask to verify on.
    func sequences(vocabSize: Int, tokenizer: Tokenizer?) throws -> [VerificationSequence] {
        guard let tokenizer else {
            if calibration != nil { throw MoltError(.usage, "--calibration needs a tokenizer: pass --tokenizer") }
            return try VerificationSet.sequences(vocabSize: vocabSize, encode: nil)
        }
        let text = try calibration.map(Input.textFile)
        return try VerificationSet.sequences(vocabSize: vocabSize, encode: { tokenizer.encode($0) }, calibration: text)
    }

    /// The --report file, opened before any work so that a path that exists (without
    /// `force`) or cannot be written fails at once rather than after the check.
    func openReport(force: Bool) throws -> AtomicOutput? {
        try report.map { try AtomicOutput(path: $0, overwrite: force) }
    }

    static func write(_ parity: ParityReport, to output: AtomicOutput?) throws {
        try write(parity.json, to: output)
    }

    /// A parity report's JSON, as `convert` completes it with the quantizer that made the file.
    static func write(_ report: JSON, to output: AtomicOutput?) throws {
        guard let output else { return }
        try Data((report.serialized(indent: 2) + "\n").utf8).withUnsafeBytes { try output.write($0) }
        try output.commit()
    }
}
