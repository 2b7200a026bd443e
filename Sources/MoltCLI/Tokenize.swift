import ArgumentParser
import MoltCore
import MoltTokenizer

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn text into token ids, or ids back into text.",
        discussion: "Uses a Hugging Face tokenizer.json (byte-level BPE, as GPT-NeoX ships it) or the one a .molt file embeds."
    )

    @Option(help: "A tokenizer.json, or a .molt file with an embedded tokenizer.")
    var tokenizer: String

    @Argument(help: "The text to encode ('-' reads standard input).")
    var text: String?

    @Option(help: "Comma-separated ids to decode instead, e.g. 1,2,3.")
    var decode: TokenList?

    @Flag(help: "Print {\"ids\": [...]} (or {\"text\": ...}) instead of plain output.")
    var json = false

    func validate() throws {
        guard (text == nil) != (decode == nil) else { throw ValidationError("give either TEXT or --decode IDS") }
    }

    func run() throws {
        let tokenizer = try TokenizerSource.load(self.tokenizer, embeddedIn: nil)
        if let ids = decode?.ids {
            let text = tokenizer.decode(ids)
            print(json ? JSON.object([("text", .string(text))]).serialized() : text)
            return
        }
        let ids = tokenizer.encode(try Input.text(text ?? ""))
        print(json ? JSON.object([("ids", JSON(ids))]).serialized() : ids.map(String.init).joined(separator: ","))
    }
}
