import ArgumentParser
import Foundation
import MoltCore
import MoltRuntime
import MoltTokenizer

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt, streaming it as it is produced.",
        discussion: """
            The tokenizer is the one the .molt file embeds, or --tokenizer. Sampling defaults to \
            temperature 0.8, top-k 40, top-p 0.95; --temperature 0 is greedy. Stops after -n \
            tokens, at the end-of-text token, or when the text produced contains --stop. \
            Afterwards prints prompt and generation speed and peak memory to stderr.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(name: .short, help: "The prompt ('-' reads it from standard input).")
    var prompt: String

    @Option(name: .short, help: "Most tokens to generate.")
    var n = 128

    @OptionGroup(title: "Sampling")
    var sampling: SamplingOptions

    @Option(help: "Stop when the generated text contains this string.")
    var stop: String?

    @Option(help: "A tokenizer.json, when the model does not embed one.")
    var tokenizer: String?

    func run() throws {
        let (network, molt) = try model.loadWithFile()
        let tokenizer = try TokenizerSource.load(self.tokenizer, embeddedIn: molt)
        let ids = tokenizer.encode(try Input.text(prompt))
        guard !ids.isEmpty else { throw MoltError.badInput("the prompt encodes to no tokens") }
        try network.validate(tokens: ids)
        var sampler = try sampling.sampler(temperature: 0.8, topK: 40, topP: 0.95)
        var decoder = tokenizer.streamingDecoder(skipSpecialTokens: true)
        var produced = ""
        let start = Date()
        var firstToken: Date?
        let generated = try network.generate(prompt: ids, maxNewTokens: n, sampler: &sampler) { id in
            if firstToken == nil { firstToken = Date() }
            if id == tokenizer.endOfText { return false }
            let piece = decoder.feed(id)
            produced += piece
            FileHandle.standardOutput.write(Data(piece.utf8))
            if let stop, produced.contains(stop) { return false }
            return true
        }
        FileHandle.standardOutput.write(Data((decoder.flush() + "\n").utf8))
        let end = Date()
        let prefillSeconds = (firstToken ?? end).timeIntervalSince(start)
        let decodeSeconds = end.timeIntervalSince(firstToken ?? end)
        Terminal.note(String(
            format: "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s; peak RSS %@",
            ids.count, Double(ids.count) / max(prefillSeconds, 1e-9), generated.count,
            Double(max(generated.count - 1, 0)) / max(decodeSeconds, 1e-9), Formatting.bytes(ResourceUsage.peakResidentBytes)))
    }
}

enum ResourceUsage {
    /// The most memory this process has held resident so far.
    static var peakResidentBytes: Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }
}
