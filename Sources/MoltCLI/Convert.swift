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
        error per group) or nearest (round to nearest).
        """)
    var method: QuantMethod = .weighted

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

    @Flag(help: "Skip the parity check (recorded in the file's header).")
    var noVerify = false

    @Option(help: "When verification fails, keep the converted file here instead of deleting it.")
    var keepFailed: String?

    @Option(help: .hidden)
    var testPerturb: String?

    func run() throws {
        let started = Date()
        let recipe = try Recipe(
            experts: experts, mamba: mamba, embedding: embedding, others: others.type, groupSize: groupSize, method: method,
            compressed: try compressedGroups())
        // Every output path is checked before any work: one that exists (without --force) or
        // cannot be written fails now, not after the conversion and its check.
        let out = try AtomicOutput(path: output, overwrite: force)
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
        // The source's SHA-256s and zip CRCs are computed on the other core meanwhile.
        let digests = Background { try checkpoint.files.map { try MappedFile(path: $0) }.map { ($0, $0.sha256()) } }
        let calibration = try calibrate(checkpoint, recipe: recipe, tokenizer: parsedTokenizer, digests: digests)
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
        let parity = noVerify
            ? nil
            : try Verification.start(
                sourceConfig: modelConfig, sourceTensors: checkpoint.tensors.byName, storedAs: converter.storedTypes,
                sequences: try verification.sequences(vocabSize: modelConfig.vocabSize, tokenizer: parsedTokenizer),
                thresholds: verification.thresholds)

        var progress = Progress(total: converter.sourceBytes, label: "convert")
        let tensorCount = converter.ordered.count
        let writer = try checkpoint.tensors.verifyingIntegrity {
            try converter.write(
                to: out, tokenizer: tokenizerData, tool: MoltHeader.Tool(name: "molt", version: Molt.version),
                provenance: {
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

        if let parity {
            try out.flush()
            let report = try parity.finish(convertedPath: out.temporaryPath)
            try writer.replaceTrailer(
                parity: Self.withQuantizer(report.json, recipe: recipe, calibration: converter.calibration), metadata: metadataJSON)
            FileHandle.standardError.write(Data((report.text + "\n" + quantizerLines(recipe, converter.calibration) + "\n").utf8))
            try VerificationOptions.write(report, to: reportOutput)
            guard report.passed else {
                if let keepFailed {
                    try out.keep(at: keepFailed)
                    Terminal.error("\(output): FAILED: the converted model does not match its source within the "
                        + "thresholds; kept at \(keepFailed), marked as failed")
                } else {
                    out.abandon()
                    Terminal.error("\(output): FAILED: the converted model does not match its source within the "
                        + "thresholds; nothing was written")
                }
                ParityAdvice.print(for: report, storedTypes: converter.storedTypes, converting: true, kept: keepFailed != nil)
                throw ExitCode(3)
            }
        } else {
            try writer.replaceTrailer(
                parity: Self.withQuantizer(.object([("verified", .bool(false))]), recipe: recipe, calibration: converter.calibration),
                metadata: metadataJSON)
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
    private func calibrate(
        _ checkpoint: Checkpoint, recipe: Recipe, tokenizer: Tokenizer?, digests: Background<[(MappedFile, String)]>
    ) throws -> (statistics: CalibrationStatistics, fileSHA256: String?)? {
        let quantized = Dictionary(uniqueKeysWithValues: checkpoint.tensors.byName.compactMap { name, tensor in
            recipe.type(of: name, tensor).isQuantized ? (name, tensor.shape[1]) : nil
        })
        guard recipe.method.isCalibrated, !quantized.isEmpty else {
            if calibrationStats != nil { Terminal.warning("--calibration-stats is unused: --method \(recipe.method.rawValue) is not calibrated") }
            return nil
        }
        let source = CalibrationSupport.identity(try digests.wait().map { ($0.0.path, $0.1, $0.0.count) })
        if let path = calibrationStats {
            let statistics = try StatisticsFile.read(path)
            try statistics.check(against: source, file: path, quantized: quantized, needsGram: recipe.method.needsGram)
            Terminal.note(CalibrationSupport.summary(statistics))
            return (statistics, try MappedFile(path: path).sha256())
        }
        let statistics = try CalibrationSupport.measure(
            checkpoint: checkpoint, source: source, textPath: verification.calibration, tokenizer: tokenizer, limit: calibrationTokens,
            seed: calibrationSeed, gram: recipe.method.needsGram)
        Terminal.note(CalibrationSupport.summary(statistics))
        return (statistics, nil)
    }

    /// The method that made the file and, when calibrated, what on and each expert's tokens.
    private func quantizerLines(_ recipe: Recipe, _ calibration: JSON?) -> String {
        let lines = MoltInspectReport.calibrationLines(recipe.json(calibration: calibration))
        return lines.isEmpty ? "quantizer:  \(recipe.method.rawValue) (not calibrated)" : lines.joined(separator: "\n")
    }

    /// The parity report with the quantizer that made the file: method and calibration.
    static func withQuantizer(_ report: JSON, recipe: Recipe, calibration: JSON?) -> JSON {
        guard case .object(var fields) = report else { return report }
        var quantizer: [(String, JSON)] = [("method", .string(recipe.method.rawValue))]
        if let calibration { quantizer.append(("calibration", calibration)) }
        fields.append(("quantizer", .object(quantizer)))
        return .object(fields)
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
