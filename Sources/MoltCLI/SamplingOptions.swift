import ArgumentParser
import MoltRuntime

/// How the next token is chosen, shared by `molt generate` (greedy unless told) and `molt run`
/// (temperature 0.8, top-k 40, top-p 0.95 unless told).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy. (generate: 0, run: 0.8)")
    var temperature: Float?

    @Option(help: "Sample only among the k most likely tokens; 0 keeps all. (generate: 0, run: 40)")
    var topK: Int?

    @Option(help: "Sample only among the most likely tokens whose probabilities add up to p. (generate: 1, run: 0.95)")
    var topP: Float?

    @Option(help: "Sample only among tokens at least this fraction as likely as the most likely one; 0 keeps all.")
    var minP: Float = 0

    @Option(help: "Divide the positive logits (multiply the negative ones) of tokens seen among the last --repeat-last-n by this; 1 is off, 1.1 is typical.")
    var repeatPenalty: Float = 1

    @Option(help: "How many of the latest tokens (prompt included) the repetition penalty looks at.")
    var repeatLastN = 64

    @Option(help: "Seed of the sampler's random numbers.")
    var seed: UInt64 = 0

    func sampler(temperature t: Float, topK k: Int, topP p: Float) throws -> Sampler {
        try Sampler(
            temperature: temperature ?? t, topK: topK ?? k, topP: topP ?? p, minP: minP, repetitionPenalty: repeatPenalty,
            repeatLastN: repeatLastN, seed: seed)
    }
}
