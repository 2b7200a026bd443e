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

    /// Runs the source and the .molt at `convertedPath` side by side. A lossless recipe must
    /// give bit-identical logits; others must meet the thresholds.
    func check(source: BlackMambaModel, convertedPath: String, lossless: Bool, tokenizer: Tokenizer?) throws -> ParityReport {
        let file = try MoltFile(path: convertedPath)
        let converted = try BlackMambaModel(molt: file)
        var errors: [String: Double] = [:]
        for entry in file.header.tensors { if let e = entry.quantError { errors[entry.name] = e.relRMS } }
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
