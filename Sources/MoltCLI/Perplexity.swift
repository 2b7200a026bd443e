import ArgumentParser
import Foundation
import MoltCore
import MoltParity
import MoltRuntime

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's perplexity on a text file, alone or against a reference model.",
        discussion: """
            The text is tokenized and cut into chunks of --context tokens; within each chunk \
            every token after the first is predicted from those before it (a chunk does not see \
            the ones before it). Perplexity is exp(mean negative log-likelihood) over all \
            predicted tokens.

            With --against REF (the source a .molt was converted from, say), both models run on \
            the same chunks, and for each chunk and in total over the same predicted tokens: \
            both perplexities, their difference, the mean and largest KL(REF || MODEL) in nats, \
            and the share of predictions whose most likely token agrees, as \
            llama-perplexity --kl-divergence reports them.

            The parity check of `convert` and `verify --against` reports perplexity on its own \
            text sequences; for its --calibration text, `--context 128 --chunks 4` here is over \
            the same tokens (Formats/parity.md, "Perplexity").
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "The text file.")
    var text: String

    @Option(help: "Tokens per chunk.")
    var context = 512

    @Option(help: "Score only the first N chunks (default: every chunk of the text).")
    var chunks: Int?

    @Option(help: "A reference model to compare with on the same tokens: a .molt file or a source checkpoint.")
    var against: String?

    @Option(help: "The config.json of --against, when none sits beside its weights.")
    var againstConfig: String?

    @Option(help: "A tokenizer.json, when neither model embeds one.")
    var tokenizer: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard context >= 2 else { throw ValidationError("--context must be at least 2") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        if againstConfig != nil, against == nil { throw ValidationError("--against-config needs --against") }
    }

    func run() throws {
        let loaded = try model.load()
        let reference = try against.map {
            try BoundModel.load($0, config: againstConfig, check: !model.noCheck, kernels: model.kernels)
        }
        let network = loaded.model
        if let reference, reference.model.vocabRows != network.vocabRows {
            throw MoltError.badInput("has \(reference.model.vocabRows) vocabulary rows, \(model.model) has \(network.vocabRows): "
                + "the two models do not share a vocabulary", file: against)
        }
        let tokenizer = try TokenizerSource.load(self.tokenizer, embeddedIn: loaded.molt ?? reference?.molt)
        let ids = tokenizer.encode(try Input.textFile(text))
        guard ids.count >= 2 else { throw MoltError.badInput("\(text): fewer than 2 tokens") }
        try network.validate(tokens: ids)
        let starts = Array(stride(from: 0, to: ids.count - 1, by: context).prefix(chunks ?? .max))
        let total = min(ids.count, (starts.last ?? 0) + context)
        var progress = Progress(total: total, label: "perplexity", unit: "tokens")
        var results: [Chunk] = []
        for start in starts {
            let window = Array(ids[start..<min(start + context, ids.count)])
            guard window.count >= 2 else { break }
            let chunk = try score(window, network: network, reference: reference?.model)
            results.append(chunk)
            let sofar = Chunk.total(results)
            progress.advance(to: start + window.count, note: String(format: "ppl %.3f", sofar.perplexity))
        }
        progress.finish()
        // Nothing is printed from a file whose checksums do not match.
        try loaded.checksums.wait()
        try reference?.checksums.wait()
        let summary = Chunk.total(results)
        if json {
            print(jsonReport(results, summary, predicted: summary.predicted).serialized())
        } else {
            print(textReport(results, summary))
        }
    }

    /// What one chunk (or the whole text) measured: the model's negative log-likelihood over
    /// the predicted tokens, and with a reference, both models' logits compared on them.
    struct Chunk {
        var predicted = 0
        var nll = 0.0
        var comparison: LogitMetrics?

        var perplexity: Double { comparison?.convertedPerplexity ?? exp(nll / Double(max(predicted, 1))) }

        static func total(_ chunks: [Chunk]) -> Chunk {
            var all = Chunk()
            for chunk in chunks {
                all.predicted += chunk.predicted
                all.nll += chunk.nll
                if let comparison = chunk.comparison {
                    var merged = all.comparison ?? LogitMetrics()
                    merged.merge(comparison)
                    all.comparison = merged
                }
            }
            return all
        }
    }

    /// Scores a chunk: every position but the last predicts the token after it.
    private func score(_ window: [Int], network: BlackMambaModel, reference: BlackMambaModel?) throws -> Chunk {
        let v = network.vocabRows, predicted = window.count - 1
        let logits = try network.prefill(window).logits
        if let reference {
            // The comparison is over the same predictions as the perplexities: the last
            // position, whose next token the chunk does not hold, is left out of all of them.
            let referenceLogits = try reference.prefill(window).logits
            var metrics = LogitMetrics()
            metrics.add(
                source: referenceLogits[..<(predicted * v)], converted: logits[..<(predicted * v)], vocab: v,
                next: window.dropFirst().map { $0 })
            return Chunk(predicted: predicted, comparison: metrics)
        }
        var nll = 0.0
        for t in 0..<predicted {
            let row = logits[t * v..<(t + 1) * v]
            let m = Double(row.max()!)
            let logSum = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
            nll += logSum - Double(row[row.startIndex + window[t + 1]])
        }
        return Chunk(predicted: predicted, nll: nll)
    }

    private func textReport(_ chunks: [Chunk], _ summary: Chunk) -> String {
        let what = String(format: "over %d predicted tokens of %@ (%d chunks of up to %d tokens, each chunk's first token unpredicted)",
                          summary.predicted, text, chunks.count, context)
        guard let all = summary.comparison, let ref = all.sourcePerplexity, let ppl = all.convertedPerplexity else {
            return String(format: "perplexity %.4f ", summary.perplexity) + what
        }
        func row(_ name: String, _ m: LogitMetrics) -> [String] {
            let r = m.sourcePerplexity ?? .nan, c = m.convertedPerplexity ?? .nan
            return [name, String(m.scoredTokens), String(format: "%.4f", r), String(format: "%.4f", c), String(format: "%+.4f", c - r),
                    String(format: "%.3e", m.meanKL), String(format: "%.3e", m.klMax), String(format: "%.4f", m.top1Agreement)]
        }
        let rows = [["chunk", "tokens", "ppl ref", "ppl model", "Δppl", "KL mean", "KL max", "same top-1"]]
            + chunks.enumerated().map { row(String($0.offset + 1), $0.element.comparison!) } + [row("all", all)]
        return TextTable.render(rows, rightAligned: Set(1...7)) + "\n\n"
            + String(format: "perplexity %.4f against %.4f for %@ (%+.2f%%); mean KL %.4e nats, same top-1 %.2f%% ",
                     ppl, ref, against ?? "", (ppl / ref - 1) * 100, all.meanKL, all.top1Agreement * 100) + what
    }

    private func jsonReport(_ chunks: [Chunk], _ summary: Chunk, predicted: Int) -> JSON {
        func comparison(_ m: LogitMetrics) -> [(String, JSON)] {
            [("perplexity_reference", .double(m.sourcePerplexity ?? .nan)),
             ("delta_perplexity", .double((m.convertedPerplexity ?? .nan) - (m.sourcePerplexity ?? .nan))),
             ("kl_mean", .double(m.meanKL)), ("kl_max", .double(m.klMax)), ("top1", .double(m.top1Agreement))]
        }
        var fields: [(String, JSON)] = [
            ("perplexity", .double(summary.perplexity)), ("tokens", .int(predicted)), ("context", .int(context)),
            ("chunks", .int(chunks.count)),
        ]
        guard let all = summary.comparison else { return .object(fields) }
        fields.append(("against", .string(against ?? "")))
        fields += comparison(all)
        fields.append(("per_chunk", .array(chunks.map { chunk in
            .object([("tokens", .int(chunk.predicted)), ("perplexity", .double(chunk.perplexity))] + comparison(chunk.comparison!))
        })))
        return .object(fields)
    }
}
