import ArgumentParser
import Foundation
import MoltCore
import MoltFormat
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

            With -i, after the prompt (if any) each line read from standard input continues the \
            same sequence: the model's state is kept between turns, so nothing is recomputed. \
            An empty line lets the model go on; end of input (Ctrl-D) ends the session.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(name: .shortAndLong, help: "The prompt ('-' reads it from standard input).")
    var prompt: String?

    @Option(name: [.customShort("f"), .customLong("file")], help: "Read the prompt from this UTF-8 text file.")
    var promptFile: String?

    @Flag(name: .shortAndLong, help: "Interactive: read further prompts from standard input, one per line, keeping the state.")
    var interactive = false

    @Flag(inversion: .prefixedNo, help: "Print the prompt before the text generated from it.")
    var echo = false

    @Option(name: .short, parsing: .unconditional, help: "Most tokens to generate (per turn with -i).")
    var n = 128

    @OptionGroup(title: "Sampling")
    var sampling: SamplingOptions

    @Option(help: "Stop when the generated text contains this string.")
    var stop: String?

    @Option(help: "A tokenizer.json, when the model does not embed one.")
    var tokenizer: String?

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be 0 or more") }
        guard prompt == nil || promptFile == nil else { throw ValidationError("give the prompt with -p or -f, not both") }
        guard prompt != nil || promptFile != nil || interactive else {
            throw ValidationError("give a prompt: -p TEXT, -f FILE, or -i to type prompts")
        }
        if interactive, prompt == "-" { throw ValidationError("-i reads prompts from standard input: give the first with -p TEXT or -f FILE") }
    }

    func run() throws {
        let loaded = try model.load()
        let tokenizer = try TokenizerSource.load(self.tokenizer, embeddedIn: loaded.molt)
        let first = try promptFile.map(Input.textFile) ?? prompt.map(Input.text)
        var session = Session(
            network: loaded.model, checksums: loaded.checksums, tokenizer: tokenizer,
            sampler: try sampling.sampler(temperature: 0.8, topK: 40, topP: 0.95))
        if let first {
            guard !tokenizer.encode(first).isEmpty else { throw MoltError.badInput("the prompt encodes to no tokens") }
            try turn(first, in: &session)
        }
        guard interactive else { return }
        let typing = isatty(STDIN_FILENO) != 0
        while true {
            if typing { FileHandle.standardError.write(Data("> ".utf8)) }
            guard let line = readLine(strippingNewline: false) else { break }
            try turn(line == "\n" ? "" : line, in: &session)
        }
    }

    /// Feeds `text` (after what the session holds) and streams what the model makes of it.
    private func turn(_ text: String, in session: inout Session) throws {
        if echo { FileHandle.standardOutput.write(Data(text.utf8)) }
        let ids = session.carried + session.tokenizer.encode(text)
        guard !ids.isEmpty else { return }
        try session.network.validate(tokens: ids, firstPosition: session.state.position)
        let tokenizer = session.tokenizer
        var decoder = tokenizer.streamingDecoder(skipSpecialTokens: true)
        var produced = ""
        let start = Date()
        var firstToken: Date?, decodeStart: Date?
        var damaged: Error?
        let checksums = session.checksums
        let generated = try session.network.generate(
            prompt: ids, state: session.state, maxNewTokens: n, sampler: &session.sampler
        ) { id in
            if firstToken == nil {
                firstToken = Date()
                // Nothing is printed before the file's checksums are known to match; the wait
                // counts toward neither speed.
                do { try checksums.wait() } catch {
                    damaged = error
                    return false
                }
                decodeStart = Date()
            }
            if id == tokenizer.endOfText { return false }
            let piece = decoder.feed(id)
            produced += piece
            FileHandle.standardOutput.write(Data(piece.utf8))
            if let stop, produced.contains(stop) { return false }
            return true
        }
        if let damaged { throw damaged }
        // A turn that generated nothing did not wait above.
        try checksums.wait()
        // The state holds every token but the last one generated: the next turn starts with it.
        session.carried = generated.suffix(1)
        FileHandle.standardOutput.write(Data((decoder.flush() + "\n").utf8))
        let end = Date()
        let prefillSeconds = (firstToken ?? end).timeIntervalSince(start)
        let decodeSeconds = end.timeIntervalSince(decodeStart ?? end)
        Terminal.note(String(
            format: "prompt: %d tokens, %.1f tokens/s; generation: %d tokens, %.1f tokens/s; peak RSS %@",
            ids.count, Double(ids.count) / max(prefillSeconds, 1e-9), generated.count,
            Double(max(generated.count - 1, 0)) / max(decodeSeconds, 1e-9), Formatting.bytes(ResourceUsage.peakResidentBytes)))
    }

    /// What a run keeps between turns.
    private struct Session {
        let network: BlackMambaModel
        let checksums: ChecksumCheck
        let tokenizer: Tokenizer
        var sampler: Sampler
        let state: DecodeState
        var carried: [Int] = []

        init(network: BlackMambaModel, checksums: ChecksumCheck, tokenizer: Tokenizer, sampler: Sampler) {
            self.network = network
            self.checksums = checksums
            self.tokenizer = tokenizer
            self.sampler = sampler
            state = network.makeState()
        }
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
