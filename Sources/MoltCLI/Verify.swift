import ArgumentParser
import Foundation
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltParity
import MoltRuntime

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a .molt file: header, every checksum, and parity.",
        discussion: """
            Without --against, the model's prefill is checked against its own decode step. With \
            --against SRC, the source files' SHA-256s recorded at conversion are checked and the \
            parity check is run again against the source. Exits 0 only when everything holds: 2 \
            for a damaged file or a different source, 3 for failed parity.
            """
    )

    @Argument(help: "The .molt file.")
    var model: String

    @Option(help: "The source checkpoint it was converted from.")
    var against: String?

    @Option(help: "The source's config.json, when none sits beside its weights.")
    var config: String?

    @OptionGroup(title: "Parity")
    var verification: VerificationOptions

    @Flag(help: "Overwrite the --report file if it exists.")
    var force = false

    func run() throws {
        let reportOutput = try verification.openReport(force: force)
        let file = try MoltFile(path: model)
        // Its own check below may pass where the conversion's, against the source, did not.
        if let warning = file.failedParityWarning { Terminal.warning(warning) }
        // With a source, its side of the parity check runs on its own thread while this one
        // checks the checksums and hashes the source; errors in opening the source or starting
        // its side are reported after those checks, since a swapped source is named best by
        // its hash.
        let source = against.map { path in Result { try Checkpoint.open(path, configPath: config, verifyChecksums: true) } }
        let pending = source.map { opened in
            Result {
                let checkpoint = try opened.get()
                let sourceConfig = try checkpoint.requireModel()
                let tokenizer = file.header.tokenizer == nil ? nil : try TokenizerSource.load(nil, embeddedIn: file)
                return try Verification.start(
                    sourceConfig: sourceConfig, sourceTensors: checkpoint.tensors.byName, storedAs: file.storedTypes,
                    sequences: try verification.sequences(vocabSize: sourceConfig.vocabSize, tokenizer: tokenizer),
                    thresholds: verification.thresholds)
            }
        }
        try file.verifyChecksums()
        Terminal.note("\(model): header and \(file.header.tensors.count + file.header.blobs.count) checksums OK")
        guard let source, let pending else {
            let model = try BlackMambaModel(molt: file)
            let check = try SelfConsistency(model: model, sequences: VerificationSet.random(vocabSize: file.config.vocabSize))
            let summary = String(format: "prefill vs decode over %d positions: relative L2 %.2e (limit %.0e)",
                                 check.positions, check.relativeL2, check.tolerance)
            guard check.passed else {
                let failure = !check.relativeL2.isFinite
                    ? "its logits are not finite numbers (\(summary)); a weight it stores is NaN or infinite: "
                        + "convert it again from its source"
                    : "the model's prefill and its decode steps disagree (\(summary)); "
                        + (model.quantizesDecodeActivations
                            ? "its quantized weights are too coarse for this model: run verify --against its source to "
                                + "see which layer, and convert with wider types (--experts q8, --mamba f16)"
                            : "its weights are not quantized, so the two should agree to float32 rounding: convert it "
                                + "again, and report a bug in molt if it still fails")
                Terminal.error("\(self.model): FAILED: " + failure)
                throw ExitCode(3)
            }
            Terminal.note(summary + ": PASSED")
            return
        }
        try checkSources(recorded: file.header.provenance.sources, actual: try source.get().files)
        let report = try pending.get().finish(convertedPath: model)
        print(report.text)
        try VerificationOptions.write(report, to: reportOutput)
        guard report.passed else {
            Terminal.error("\(model): FAILED: it does not match its source within the thresholds")
            ParityAdvice.print(for: report, storedTypes: file.storedTypes, converting: false)
            throw ExitCode(3)
        }
    }

    /// The source given must be the one converted: same files, same sizes, same SHA-256s.
    private func checkSources(recorded: [MoltHeader.SourceFile], actual: [String]) throws {
        let names = actual.map { ($0 as NSString).lastPathComponent }
        guard names.sorted() == recorded.map(\.name).sorted() else {
            throw MoltError.badInput("\(against!): holds \(names.joined(separator: ", ")) but \(model) was converted from "
                + recorded.map(\.name).joined(separator: ", "))
        }
        for path in actual {
            let name = (path as NSString).lastPathComponent
            let expected = recorded.first { $0.name == name }!
            let file = try MappedFile(path: path)
            let digest = file.count == expected.size ? file.sha256() : ""
            guard digest == expected.sha256 else {
                throw MoltError.badInput("is not the file \(model) was converted from (SHA-256 \(digest.isEmpty ? "not computed: size differs" : digest), recorded \(expected.sha256))", file: path)
            }
        }
        Terminal.note("source SHA-256s match the \(recorded.count) recorded at conversion")
    }
}
