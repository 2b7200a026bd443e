import ArgumentParser
import Foundation
import MoltCore
import MoltParity
import MoltTokenizer

/// The flags of a conversion's verification (`molt convert`, `molt verify --against`); the
/// policy itself is MoltParity's `Verification`.
struct VerificationOptions: ParsableArguments {
    @Flag(help: "Skip the parity check (recorded in the file's header).")
    var noVerify = false

    @Option(help: "Largest mean KL(source || converted) allowed, in nats.")
    var maxKL: Double = Thresholds().maxMeanKL

    @Option(help: "Smallest share of positions whose most likely token must agree.")
    var minTop1: Double = Thresholds().minTop1

    @Option(help: "Smallest share of tokens each MoE layer must route to the same expert.")
    var minRouting: Double = Thresholds().minRouting

    @Option(help: "A text file to verify on as well (needs a tokenizer); perplexity of both models is reported on it.")
    var calibration: String?

    @Option(help: "Write the parity report as JSON to this file.")
    var report: String?

    @Option(help: "When verification fails, keep the converted file here instead of deleting it.")
    var keepFailed: String?

    var thresholds: Thresholds { Thresholds(maxMeanKL: maxKL, minTop1: minTop1, minRouting: minRouting) }

    /// The sequences the flags ask to verify on.
    func sequences(vocabSize: Int, tokenizer: Tokenizer?) throws -> [VerificationSequence] {
        guard let tokenizer else {
            if calibration != nil { throw MoltError(.usage, "--calibration needs a tokenizer: pass --tokenizer") }
            return try VerificationSet.sequences(vocabSize: vocabSize, encode: nil)
        }
        let text = try calibration.map { path in
            guard let data = FileManager.default.contents(atPath: path) else { throw MoltError(.io, "\(path): cannot read") }
            return String(decoding: data, as: UTF8.self)
        }
        return try VerificationSet.sequences(vocabSize: vocabSize, encode: { tokenizer.encode($0) }, calibration: text)
    }

    func writeReport(_ parity: ParityReport) throws {
        guard let path = report else { return }
        let output = try AtomicOutput(path: path, overwrite: true)
        try Data((parity.json.serialized(indent: 2) + "\n").utf8).withUnsafeBytes { try output.write($0) }
        try output.commit()
    }
}
