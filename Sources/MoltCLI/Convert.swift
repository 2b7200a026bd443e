import ArgumentParser
import Foundation
import MoltCalibration
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltParity
import MoltQuant
import MoltRuntime
import MoltTokenizer

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint into a .molt file, with the experts quantized.",
        discussion: """
            Tensors are written one at a time to a temporary file that is renamed into place \
            only when complete: an error or Ctrl-C leaves no output behind. Types: q4 (4-bit, \
            scale and minimum per group), q8 (8-bit, scale per group), f16, bf16, f32. \
            Routers, norms, A_log, D, conv and biases are "others". The calibrated methods \
            (weighted, gptq) first run the source on calibration text: --calibration FILE, a \
            saved --calibration-stats file, or otherwise text the source generates itself.
            """
    )

    @Argument(help: "The source: a checkpoint directory, weights file or shard index.")
    var source: String

    @Option(name: .shortAndLong, help: "The .molt file to write.")
    var output: String

    @Option(help: "Type of the expert weights: q4, q8, f16, bf16 or f32.")
    var experts: MoltTensorType = .q4

    @Option(help: "Type of the Mamba in/out/x/dt projection weights.")
    var mamba: MoltTensorType = .q8

    @Option(help: "Type of the embedding, which is also the output matrix.")
    var embedding: MoltTensorType = .q8

    @Option(help: "Type of routers, norms, A_log, D, conv and biases (never quantized).")
    var others: UnquantizedType = .f32

    @Option(help: "Values per quantization group, along each row (a multiple of 32).")
    var groupSize = 32

    @Option(help: """
        Quantizer: weighted (search weighted by calibrated input importance), gptq (error \
        compensation through the calibrated inputs' Hessian), search (lowest squared weight \
        error per group) or nearest (round to nearest). Default: gptq where its work is \
        small (up to 100 GFLOP counted: models of tens of millions of parameters), weighted \
        above (minutes against seconds on the 1.5B shapes); the report names the method used.
        """)
    var method: QuantMethod?

    @Option(help: "Calibration statistics from `molt calibrate` to quantize with (checked against the source's SHA-256).")
    var calibrationStats: String?

    @Option(help: "Calibrate on at most this many tokens of the --calibration text.")
    var calibrationTokens = 8192

    @Option(help: "Seed of the self-generated calibration text (used without --calibration or --calibration-stats).")
    var calibrationSeed: UInt64 = Calibration.defaultSeed

    @Option(help: "Comma-separated groups to zstd-compress: experts, mamba, embedding, others.")
    var compress: String = ""

    @Option(help: "A tokenizer.json to embed, so `molt run` can take text.")
    var tokenizer: String?

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    @OptionGroup(title: "Model metadata")
    var metadata: MetadataOptions

    @OptionGroup(title: "Verification")
    var verification: VerificationOptions

    @Option(help: """
        Instead of keeping the recipe's types, widen the quantized tensors that lose the most \
        on the calibration tokens (q4 to q8 to 16 bits) until the parity check's mean KL is at \
        most this (nats; it replaces --max-kl). Fails with exit code 3, writing nothing, when \
        even 16 bits everywhere does not meet it.
        """)
    var targetKL: Double?

    @Flag(help: "Skip the parity check (recorded in the file's header).")
    var noVerify = false

    @Option(help: "When verification fails, keep the converted file here instead of deleting it.")
    var keepFailed: String?

    @Option(help: .hidden)
    var testPerturb: String?

    func validate() throws {
        if let targetKL {
            guard targetKL.isFinite, targetKL > 0 else { throw ValidationError("--target-kl must be a positive number of nats") }
            guard !noVerify else { throw ValidationError("--target-kl needs the parity check: drop --no-verify") }
        }
    }

    func run() throws {
        let started = Date()
        var recipe = try Recipe(
            experts: experts, mamba: mamba, embedding: embedding, others: others.type, groupSize: groupSize, method: method ?? .weighted,
            compressed: try compressedGroups())
        // Every output path is checked before any work: one that exists (without --force) or
        // cannot be written fails now, not after the conversion and its check.
        var out = try AtomicOutput(path: output, overwrite: force)
        let reportOutput = try verification.openReport(force: force)
        if let keepFailed { try AtomicOutput.check(path: keepFailed, overwrite: force) }
        // The tokenizer is checked before any work, then embedded as the bytes given.
        let tokenizerData = try tokenizer.map { try MappedFile.contents(of: $0, limit: Tokenizer.maxFileSize) }
        let parsedTokenizer = try tokenizerData.map { try Tokenizer(json: $0, file: tokenizer!) }
        let checkpoint = try Checkpoint.open(source, configPath: config, verifyChecksums: true)
        let modelConfig = try checkpoint.requireModel()
        for warning in checkpoint.warnings { Terminal.warning(warning) }
        let described = metadata.resolve(checkpoint)
        let metadataJSON = Dictionary(uniqueKeysWithValues: described.map { ($0.key.rawValue, JSON.string($0.value)) })
        var tensors = checkpoint.tensors.byName
        // The source's SHA-256s and zip CRCs are computed on the other core meanwhile, in one
        // read of each file.
        let table = checkpoint.tensors
        let digests = Background(.dedicated()) { try table.digestFiles(checkpoint.files).map { ($0.file, $0.sha256) } }
        let calibration = try calibrate(checkpoint, recipe: &recipe, tokenizer: parsedTokenizer, digests: digests)
        if let name = testPerturb {
            // Test-only: damage one tensor so the verifier can be seen to catch it.
            guard let tensor = tensors[name] else { throw MoltError(.usage, "--test-perturb: no tensor \(name)") }
            tensors[name] = try Self.damaged(tensor)
        }
        var converter = try Converter(config: modelConfig, tensors: tensors, recipe: recipe)
        if let calibration {
            converter.statistics = Dictionary(uniqueKeysWithValues: calibration.statistics.tensors.map { ($0.name, $0.statistics) })
            converter.calibration = calibration.statistics.record(statsSHA256: calibration.fileSHA256)
        }
        // The source's side of the parity check runs meanwhile, in the time the conversion leaves idle.
        var parity = noVerify
            ? nil
            : try Verification.start(
                sourceConfig: modelConfig, sourceTensors: checkpoint.tensors.byName, storedAs: converter.storedTypes,
                sequences: try verification.sequences(vocabSize: modelConfig.vocabSize, tokenizer: parsedTokenizer),
                thresholds: thresholds)

        // Once, or with --target-kl once per round of promotions (Formats/calibration.md).
        for round in 1... {
            if let targetKL {
                converter.targetKL = TargetKL.record(target: targetKL, round: round, recipe: converter.recipe)
            }
            var progress = Progress(total: converter.sourceBytes, label: round == 1 ? "convert" : "convert (round \(round))")
            let tensorCount = converter.ordered.count
            let writer = try checkpoint.tensors.verifyingIntegrity(after: { _ = try digests.wait() }) {
                try converter.write(
                    to: out, tokenizer: tokenizerData, tool: MoltHeader.Tool(name: "molt", version: Molt.version),
                    provenance: {
                        // Unverified, the file is complete but for its trailer: its data goes to
                        // disk while the hash finishes (BENCHMARKS.md, "Lossless conversion").
                        if parity == nil { try out.syncWritten() }
                        let sources = try digests.wait().map { file, sha in
                            MoltHeader.SourceFile(
                                path: file.path, name: (file.path as NSString).lastPathComponent, sha256: sha, size: file.count)
                        }
                        return MoltHeader.Provenance(created: Self.timestamp(), sources: sources)
                    }, keepsSourceMapped: parity != nil
                ) { done, bytes in
                    progress.advance(to: bytes, note: "tensor \(done)/\(tensorCount)")
                }
            }
            progress.finish()

            guard let check = parity else {
                try writer.replaceTrailer(
                    parity: Self.withQuantizer(.object([("verified", .bool(false))]), converter), metadata: metadataJSON)
                break
            }
            try out.flush()
            let report = try check.finish(convertedPath: out.temporaryPath)
            if let targetKL, !report.passed, let statistics = calibration?.statistics {
                let candidates = try TargetKL.candidates(
                    converter, original: recipe, statistics: statistics, stored: try MoltFile(path: out.temporaryPath))
                let promoted = Promotion.plan(
                    candidates,
                    goal: Promotion.goal(estimate: candidates.reduce(0) { $0 + $1.sensitivity }, meanKL: report.worstMeanKL, target: targetKL),
                    groupSize: recipe.groupSize)
                if !promoted.isEmpty {
                    Terminal.note(TargetKL.roundLine(round: round, report: report, target: targetKL, promoted: promoted, converter))
                    out.abandon()
                    out = try AtomicOutput(path: output, overwrite: force)
                    converter.recipe.promoted.merge(promoted) { $1 }
                    parity = try check.retyped(converter.storedTypes)
                    continue
                }
                Terminal.note(TargetKL.roundLine(round: round, report: report, target: targetKL, promoted: [:], converter))
            }
            let reportJSON = Self.withQuantizer(report.json, converter)
            try writer.replaceTrailer(parity: reportJSON, metadata: metadataJSON)
            FileHandle.standardError.write(Data((report.text + "\n" + quantizerLines(converter) + "\n").utf8))
            try VerificationOptions.write(reportJSON, to: reportOutput)
            guard report.passed else {
                let why = targetKL.map {
                    String(format: "the target mean KL %.3g cannot be met: with every quantized tensor at 16 bits the check still fails "
                        + "(mean KL %.3g)", $0, report.worstMeanKL)
                } ?? "the converted model does not match its source within the thresholds"
                if let keepFailed {
                    try out.keep(at: keepFailed)
                    Terminal.error("\(output): FAILED: \(why); kept at \(keepFailed), marked as failed")
                } else {
                    out.abandon()
                    Terminal.error("\(output): FAILED: \(why); nothing was written")
                }
                ParityAdvice.print(for: report, storedTypes: converter.storedTypes, converting: true, kept: keepFailed != nil)
                throw ExitCode(3)
            }
            break
        }
        try out.commit()
        if parity != nil {
            // The check read the whole source, which stays mapped: dropped on both cores now
            // rather than by one at exit.
            for file in checkpoint.tensors.mappedFiles { file.releaseAll() }
        }

        Terminal.note("metadata: " + described.map { "\($0.key.rawValue) \(quoted($0.value)) (\($0.from))" }.joined(separator: ", "))
        let written = out.offset
        let seconds = Date().timeIntervalSince(started)
        Terminal.note(String(
            format: "wrote %@: %@ from %@ of source (%.2fx) in %.1f s", output, Formatting.bytes(written),
            Formatting.bytes(converter.sourceBytes), Double(converter.sourceBytes) / Double(max(written, 1)), seconds))
    }

    /// Statistics for a calibrated method, when the recipe quantizes anything: from a saved
    /// file (checked against the source), the --calibration text, or self-generated text.
    /// Without --method, also settles the recipe's method (`QuantMethod.defaultMethod`).
    private func calibrate(
        _ checkpoint: Checkpoint, recipe: inout Recipe, tokenizer: Tokenizer?, digests: Background<[(MappedFile, String)]>
    ) throws -> (statistics: CalibrationStatistics, fileSHA256: String?)? {
        let weights = checkpoint.tensors.byName.filter { name, tensor in recipe.type(of: name, tensor).isQuantized }
        let quantized = weights.mapValues { $0.shape[1] }
        let calibrated = (method?.isCalibrated ?? true) || targetKL != nil
        let saved = calibrated ? try calibrationStats.map { path in (path: path, statistics: try StatisticsFile.read(path)) } : nil
        if method == nil, !weights.isEmpty {
            let shapes = weights.values.map { (rows: $0.shape[0], columns: $0.shape[1]) }
            let gram = saved?.statistics.hasGram ?? true
            recipe.method = .defaultMethod(quantizing: shapes, gramAvailable: gram)
            let work = String(format: "%.1f GFLOP", QuantMethod.gptqWork(shapes) / 1e9)
            Terminal.note(
                recipe.method == .gptq ? "quantizer: gptq, the default where its work is small (\(work) here)"
                    : gram ? "quantizer: weighted, the default where gptq's work is large (\(work) here; --method gptq asks for it)"
                    : "quantizer: weighted, the default with statistics that have no Gram matrix (gptq needs `molt calibrate --gram`)")
        }
        // --target-kl measures each tensor's sensitivity with the statistics, whatever the method.
        guard recipe.method.isCalibrated || targetKL != nil, !quantized.isEmpty else {
            if calibrationStats != nil { Terminal.warning("--calibration-stats is unused: --method \(recipe.method.rawValue) is not calibrated") }
            return nil
        }
        let source = { CalibrationSupport.identity(try digests.wait().map { ($0.0.path, $0.1, $0.0.count) }) }
        if let (path, statistics) = saved {
            try statistics.check(against: try source(), file: path, quantized: quantized, needsGram: recipe.method.needsGram)
            Terminal.note(CalibrationSupport.summary(statistics))
            return (statistics, try MappedFile(path: path).sha256())
        }
        let statistics = try CalibrationSupport.measure(
            checkpoint: checkpoint, source: source, textPath: verification.calibration, tokenizer: tokenizer, limit: calibrationTokens,
            seed: calibrationSeed, gram: recipe.method.needsGram)
        Terminal.note(CalibrationSupport.summary(statistics))
        return (statistics, nil)
    }

    /// The method that made the file, what calibrated it and each expert's tokens, the bits
    /// per weight and what --target-kl promoted.
    private func quantizerLines(_ converter: Converter) -> String {
        let record = converter.quantizationRecord
        var lines = MoltInspectReport.calibrationLines(record)
        if lines.isEmpty { lines = ["quantizer:  \(converter.recipe.method.rawValue) (not calibrated)"] }
        return (lines + MoltInspectReport.typeLines(record)).joined(separator: "\n")
    }

    /// The parity report with the quantizer that made the file: method, calibration, bits per
    /// weight and the --target-kl record.
    static func withQuantizer(_ report: JSON, _ converter: Converter) -> JSON {
        guard case .object(var fields) = report else { return report }
        var quantizer: [(String, JSON)] = [
            ("method", .string(converter.recipe.method.rawValue)), ("bits_per_weight", .double(converter.bitsPerWeight)),
        ]
        if let calibration = converter.calibration { quantizer.append(("calibration", calibration)) }
        if let targetKL = converter.targetKL { quantizer.append(("target_kl", targetKL)) }
        fields.append(("quantizer", .object(quantizer)))
        return .object(fields)
    }

    /// The check's thresholds, with --target-kl as the mean KL bound.
    private var thresholds: Thresholds {
        var thresholds = verification.thresholds
        if let targetKL { thresholds.maxMeanKL = targetKL }
        return thresholds
    }

    private func compressedGroups() throws -> Set<Recipe.Group> {
        let names = compress.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return Set(try names.map { name in
            guard let group = Recipe.Group(rawValue: name) else {
                throw MoltError(.usage, "--compress takes experts, mamba, embedding or others, not '\(name)'")
            }
            return group
        })
    }

    /// The tensor negated and tripled: a damage no quantizer would cause.
    static func damaged(_ tensor: Tensor) throws -> Tensor {
        let values = try tensor.floatValues().map { -3 * $0 }
        let storage = values.withUnsafeBytes { Storage(copying: $0) }
        return try Tensor(storage: storage, dtype: .f32, shape: tensor.shape)
    }

    static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}

extension MoltTensorType: ExpressibleByArgument {}

/// The types `--others` takes: routers, norms and biases are never quantized.
enum UnquantizedType: String, CaseIterable, ExpressibleByArgument {
    case f32, f16, bf16

    var type: MoltTensorType { MoltTensorType(rawValue: rawValue)! }
}
extension QuantMethod: ExpressibleByArgument {}
