import ArgumentParser
import Foundation
import MoltCore
import MoltRuntime

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's perplexity on a text file.",
        discussion: """
            The text is tokenized and cut into windows of --context tokens; within each window \
            every token after the first is predicted from those before it. Perplexity is \
            exp(mean negative log-likelihood) over all predicted tokens.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "The text file.")
    var text: String

    @Option(help: "Tokens per window.")
    var context = 512

    @Option(help: "A tokenizer.json, when the model does not embed one.")
    var tokenizer: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard context >= 2 else { throw ValidationError("--context must be at least 2") }
    }

    func run() throws {
        let (network, molt) = try model.loadWithFile()
        let tokenizer = try TokenizerSource.load(self.tokenizer, embeddedIn: molt)
        let ids = tokenizer.encode(try Input.textFile(text))
        guard ids.count >= 2 else { throw MoltError.badInput("\(text): fewer than 2 tokens") }
        try network.validate(tokens: ids)
        var nll = 0.0, scored = 0
        var progress = Progress(total: ids.count, label: "perplexity", unit: "tokens")
        for start in stride(from: 0, to: ids.count - 1, by: context) {
            let window = Array(ids[start..<min(start + context, ids.count)])
            guard window.count >= 2 else { break }
            let logits = try network.prefill(window).logits
            let v = network.vocabRows
            for t in 0..<(window.count - 1) {
                let row = logits[t * v..<(t + 1) * v]
                let m = Double(row.max()!)
                let logSum = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
                nll += logSum - Double(row[row.startIndex + window[t + 1]])
                scored += 1
            }
            progress.advance(to: start + window.count, note: String(format: "ppl %.3f", exp(nll / Double(scored))))
        }
        progress.finish()
        let perplexity = exp(nll / Double(scored))
        if json {
            print(JSON.object([("perplexity", .double(perplexity)), ("tokens", .int(scored)), ("context", .int(context))]).serialized())
        } else {
            print(String(format: "perplexity %.4f over %d predicted tokens (context %d)", perplexity, scored, context))
        }
    }
}
