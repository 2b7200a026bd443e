import ArgumentParser

struct Molt: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "molt",
        abstract: "Read, convert, verify and run BlackMamba checkpoints.",
        discussion: """
            MODEL and PATH arguments accept a checkpoint directory (config.json beside the weights), \
            a weights file (pytorch_model.bin in zip or legacy format, model.safetensors) or a \
            shard index (*.index.json). Pickles are never executed: they are read as data.

            Exit codes: 0 success, 1 usage error, 2 bad input, 3 failed parity (convert, verify).
            """,
        version: version,
        subcommands: [Inspect.self, Export.self, Convert.self, Calibrate.self, Verify.self, Logits.self, Generate.self, Run.self, Serve.self, Bench.self, Perplexity.self, Tokenize.self]
    )
}
