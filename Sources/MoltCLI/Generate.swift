import ArgumentParser
import MoltCore
import MoltRuntime

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a token sequence and print the new token ids.",
        discussion: """
            Greedy by default (the most likely token, lowest id on ties). Give --temperature to \
            sample instead, optionally restricted by --top-k and --top-p; --seed makes sampling \
            repeatable.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "Comma-separated prompt token ids, e.g. 5,17,42.")
    var tokens: TokenList

    @Option(name: .short, parsing: .unconditional, help: "How many tokens to generate.")
    var n = 16

    @OptionGroup(title: "Sampling")
    var sampling: SamplingOptions

    @Flag(help: "Print {\"tokens\": [...]} instead of comma-separated ids.")
    var json = false

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be 0 or more") }
        if (sampling.temperature ?? 0) == 0 && (sampling.topK != nil || sampling.topP != nil || sampling.minP != 0) {
            throw ValidationError("--top-k, --top-p and --min-p shape sampling: give a --temperature above 0 as well")
        }
    }

    func run() throws {
        let loaded = try model.load()
        let network = loaded.model
        try network.validate(tokens: tokens.ids)
        var sampler = try sampling.sampler(temperature: 0, topK: 0, topP: 1)
        let generated = try network.generate(prompt: tokens.ids, maxNewTokens: n, sampler: &sampler)
        try loaded.checksums.wait()
        if json {
            print(JSON.object([("tokens", JSON(generated))]).serialized())
        } else {
            print(generated.map(String.init).joined(separator: ","))
        }
    }
}
