import ArgumentParser
import Foundation
import MoltCore
import MoltFormat
import MoltParity
import MoltRuntime
import MoltTokenizer

/// How a conversion is verified against its source (`molt convert`, `molt verify --against`).
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

    /// Runs the source and the .molt at `convertedPath` side by side. A lossless conversion
    /// (every tensor stored exactly) must give bit-identical logits; others must meet the
    /// thresholds.
    func check(sourceConfig: BlackMambaConfig, sourceTensors: [String: Tensor], convertedPath: String, tokenizer: Tokenizer?) throws -> ParityReport {
        let file = try MoltFile(path: convertedPath)
        let converted = try BlackMambaModel(molt: file)
        var tensors = sourceTensors
        var lossless = true
        var errors: [String: Double] = [:]
        for entry in file.header.tensors {
            if let e = entry.quantError { errors[entry.name] = e.relRMS }
            guard let original = sourceTensors[entry.name] else {
                lossless = false
                continue
            }
            lossless = lossless && entry.type.holdsExactly(original.dtype)
            // A half-precision source widened to f32 by the recipe runs through OpenBLAS in the
            // conversion, so its source runs there too: the same values through the same
            // arithmetic is what makes bit-identical logits a fair demand.
            if entry.type == .f32, original.dtype != .f32 { tensors[entry.name] = try original.converted(to: .f32) }
        }
        let source = try BlackMambaModel(config: sourceConfig, tensors: tensors)
        let check = ParityCheck(
            sequences: try sequences(vocabSize: source.config.vocabSize, tokenizer: tokenizer),
            thresholds: lossless ? nil : thresholds, tensorErrors: errors)
        return try check.run(source: source, converted: converted)
    }

    /// The seeded random sequences, plus built-in and calibration text when there is a tokenizer.
    func sequences(vocabSize: Int, tokenizer: Tokenizer?) throws -> [VerificationSequence] {
        var sequences = VerificationSet.random(vocabSize: vocabSize)
        guard let tokenizer else {
            if calibration != nil { throw MoltError(.usage, "--calibration needs a tokenizer: pass --tokenizer") }
            return sequences
        }
        sequences += VerificationSet.text(tokenizer.encode(VerificationSet.builtInText), name: "text", length: 64, limit: 2)
        if let calibration {
            guard let data = FileManager.default.contents(atPath: calibration) else { throw MoltError(.io, "\(calibration): cannot read") }
            sequences += VerificationSet.text(tokenizer.encode(String(decoding: data, as: UTF8.self)), name: "calibration")
        }
        let outside = sequences.flatMap(\.tokens).first { $0 >= vocabSize }
        if let outside { throw MoltError.badInput("the tokenizer gives id \(outside), outside the model's vocabulary of \(vocabSize)") }
        return sequences
    }

    func writeReport(_ parity: ParityReport) throws {
        guard let path = report else { return }
        let output = try AtomicOutput(path: path, overwrite: true)
        try Data((parity.json.serialized(indent: 2) + "\n").utf8).withUnsafeBytes { try output.write($0) }
        try output.commit()
    }
}
