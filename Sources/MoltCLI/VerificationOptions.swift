import ArgumentParser
import Foundation
import MoltCore
import MoltFormat
import MoltKernels
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

    /// Starts the source's side of the parity check on threads of its own, so that it runs
    /// while the caller writes the conversion (or checks checksums): it needs only the source
    /// and the type each tensor is stored as (`storedAs`). A lossless conversion (every tensor
    /// stored exactly) must then give bit-identical logits; others must meet the thresholds.
    func start(
        sourceConfig: BlackMambaConfig, sourceTensors: [String: Tensor], storedAs types: [String: MoltTensorType],
        tokenizer: Tokenizer?
    ) throws -> PendingParity {
        var tensors = sourceTensors
        var lossless = true
        for (name, type) in types {
            guard let original = sourceTensors[name] else {
                lossless = false
                continue
            }
            lossless = lossless && type.holdsExactly(original.dtype)
            // A half-precision source widened to f32 by the recipe runs through OpenBLAS in the
            // conversion, so its source runs there too: the same values through the same
            // arithmetic is what makes bit-identical logits a fair demand.
            if type == .f32, original.dtype != .f32 { tensors[name] = try original.converted(to: .f32) }
        }
        let check = ParityCheck(
            sequences: try sequences(vocabSize: sourceConfig.vocabSize, tokenizer: tokenizer),
            thresholds: lossless ? nil : thresholds)
        // On a thread of its own with one kernel thread, waiting out the quantizer's stretches
        // on every core (BusyCores) before each product: it runs in the time the conversion
        // leaves idle, between tensors, and at full speed once the conversion is done. Nice
        // 10 keeps it from slowing the conversion's single-threaded stretches (verification
        // +29.5% against +39.4% at nice 0, +32.3% at 19), while it still gets a tenth of a
        // core beside other work: beside two busy loops a 1.5B check took 18.4 s against
        // 14.2 s with no overlap (an idle scheduling priority stalled for minutes).
        let reference = Background(.dedicated(niceness: 10)) { [tensors] in
            try check.reference(
                BlackMambaModel(
                    config: sourceConfig, tensors: tensors, kernels: KernelThreads(count: 1),
                    beforeEachProduct: BusyCores.waitUntilFree))
        }
        return PendingParity(check: check, types: types, reference: reference)
    }

    /// Runs the .molt at `convertedPath` and judges it against the source's side.
    func finish(_ pending: PendingParity, convertedPath: String) throws -> ParityReport {
        let file = try MoltFile(path: convertedPath)
        guard file.storedTypes == pending.types else {
            throw MoltError.badInput("\(convertedPath): its tensors are not stored as the source's side of the check assumed")
        }
        var check = pending.check
        for entry in file.header.tensors {
            if let e = entry.quantError { check.tensorErrors[entry.name] = e.relRMS }
        }
        let converted = try BlackMambaModel(molt: file)
        return try check.run(converted: converted) { try pending.reference.wait() }
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

/// A parity check whose source side is running.
struct PendingParity {
    var check: ParityCheck
    /// The stored type of each tensor the source side was bound for.
    let types: [String: MoltTensorType]
    let reference: Background<ParityCheck.Reference>
}

extension MoltFile {
    /// The type each tensor is stored as.
    var storedTypes: [String: MoltTensorType] {
        Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.name, $0.type) })
    }
}
