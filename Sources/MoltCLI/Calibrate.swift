import ArgumentParser
import Foundation
import MoltCalibration
import MoltCheckpoint
import MoltCore
import MoltTokenizer

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record the input statistics of a source's weights, for calibrated quantization.",
        discussion: """
            Runs the source through the reference runtime and writes, for every weight a \
            conversion can quantize, the sum of x² of each input column and the token count (and \
            with --gram the Gram matrix XᵀX, which --method gptq needs); each expert only over \
            the tokens its router chose, with the rule of Formats/calibration.md for experts \
            that get too few. `molt convert --calibration-stats` reuses the file, after checking \
            that it was made from the same source.
            """
    )

    @Argument(help: "The source: a checkpoint directory, weights file or shard index.")
    var source: String

    @Option(help: "Text to calibrate on. Without it the source writes its own (seeded sampling).")
    var text: String?

    @Option(help: "Use at most this many tokens of the text.")
    var tokens = 8192

    @Option(help: "The tokenizer.json for --text (default: the one beside the source, if any).")
    var tokenizer: String?

    @Option(help: "Seed of the self-generated text.")
    var seed: UInt64 = Calibration.defaultSeed

    @Flag(help: "Also record each weight's Gram matrix XᵀX (needed by --method gptq): the input rows in f16 while a weight has seen fewer than 4·in tokens, then in² f64 values.")
    var gram = false

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    @Option(name: .shortAndLong, help: "The statistics file to write (.moltcal).")
    var output: String

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func run() throws {
        let started = Date()
        let checkpoint = try Checkpoint.open(source, configPath: config, verifyChecksums: true)
        for warning in checkpoint.warnings { Terminal.warning(warning) }
        let parsedTokenizer = try text == nil ? nil : Tokenizer(path: tokenizer ?? besideSource())
        let identity = Background(.dedicated()) { try CalibrationSupport.hashFiles(checkpoint) }
        let statistics = try CalibrationSupport.measure(
            checkpoint: checkpoint, source: identity.wait, textPath: text, tokenizer: parsedTokenizer, limit: tokens, seed: seed, gram: gram)
        try StatisticsFile.write(statistics, to: output, overwrite: force)
        let seconds = Date().timeIntervalSince(started)
        if json {
            print(JSON.object([
                ("output", .string(output)), ("source_sha256", .string(statistics.source.sha256)), ("seconds", .double(seconds)),
                ("calibration", statistics.record(statsSHA256: nil)),
            ]).serialized(indent: 2))
        }
        Terminal.note(CalibrationSupport.summary(statistics))
        Terminal.note(String(format: "wrote %@ in %.1f s", output, seconds))
    }

    /// tokenizer.json in the source's directory.
    private func besideSource() throws -> String {
        var isDirectory: ObjCBool = false
        let directory = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) && isDirectory.boolValue
            ? source : (source as NSString).deletingLastPathComponent
        let path = (directory as NSString).appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: path) else {
            throw MoltError(.usage, "--text needs a tokenizer: pass --tokenizer (no tokenizer.json beside \(source))")
        }
        return path
    }
}
