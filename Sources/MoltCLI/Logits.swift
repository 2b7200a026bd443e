import ArgumentParser
import MoltCheckpoint
import MoltRuntime

struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute a model's logits for a token sequence and save them as a NumPy file.",
        discussion: """
            Writes float32 logits of shape [tokens, vocabulary rows] as a .npy file (format 1.0, \
            little-endian <f4, C order), readable with numpy.load.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "Comma-separated token ids, e.g. 5,17,42.")
    var tokens: TokenList

    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String

    @Flag(help: "Compute the logits one token at a time through the recurrent decode step instead of one prefill.")
    var decode = false

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    func run() throws {
        let loaded = try model.load()
        let network = loaded.model
        let ids = tokens.ids
        try network.validate(tokens: ids)
        let logits: [Float]
        if decode {
            let state = network.makeState()
            var rows: [Float] = []
            rows.reserveCapacity(ids.count * network.vocabRows)
            for id in ids { rows += try network.decode(id, state: state) }
            logits = rows
        } else {
            logits = try network.prefill(ids).logits
        }
        try loaded.checksums.wait()
        try Npy.write(logits, shape: [ids.count, network.vocabRows], to: output, overwrite: force)
    }
}
