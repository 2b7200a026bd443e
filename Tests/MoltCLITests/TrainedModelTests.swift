import Foundation
import MoltFormat
import Testing

private let trained = MoltBinary.repository.appendingPathComponent("Fixtures/trained").path
private let tokenizer = trained + "/tokenizer.json"

@Test func q8ExpertsPassTheDefaultThresholdsOnTheTrainedModel() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("q8.molt").path
        let result = try MoltBinary.run(["convert", trained, "-o", out, "--experts", "q8", "--tokenizer", tokenizer])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("parity: PASSED"))
        let file = try MoltFile(path: out)
        #expect(file.header.tokenizer != nil)
    }
}

@Test func runStreamsTextFromTheEmbeddedTokenizer() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("m.molt").path
        #expect(try MoltBinary.run(["convert", trained, "-o", out, "--tokenizer", tokenizer]).status == 0)
        let first = try MoltBinary.run(["run", out, "-p", "import os\n", "-n", "24", "--seed", "7"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.count > 10)
        #expect(first.stderr.contains("tokens/s") && first.stderr.contains("peak RSS"))
        // Seeded sampling repeats; greedy generation is the same text as greedy token ids.
        #expect(try MoltBinary.run(["run", out, "-p", "import os\n", "-n", "24", "--seed", "7"]).stdout == first.stdout)
        let greedy = try MoltBinary.run(["run", out, "-p", "import os\n", "-n", "16", "--temperature", "0"])
        let ids = try MoltBinary.run(["tokenize", "--tokenizer", tokenizer, "import os\n"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let next = try MoltBinary.run(["generate", out, "--tokens", ids, "-n", "16"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let text = try MoltBinary.run(["tokenize", "--tokenizer", out, "--decode", next]).stdout
        #expect(greedy.stdout.hasPrefix(String(text.dropLast()).prefix(8)))
        let stop = try MoltBinary.run(["run", out, "-p", "import os\n", "-n", "64", "--temperature", "0", "--stop", "\n"])
        #expect(stop.stdout.dropLast().filter { $0 == "\n" }.count <= 1)
    }
}

@Test func perplexityMatchesPyTorch() throws {
    // Scripts/make_golden_perplexity.py: the PyTorch reference in float64 on the same text and windows.
    let golden = MoltBinary.repository.appendingPathComponent("Fixtures/golden/trained-perplexity.json")
    let expected = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: golden)) as? [String: Any])
    let text = MoltBinary.repository.appendingPathComponent(try #require(expected["text"] as? String)).path
    let context = try #require(expected["context"] as? Int)
    let result = try MoltBinary.run([
        "perplexity", trained, "--text", text, "--tokenizer", tokenizer, "--context", String(context), "--json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(json["tokens"] as? Int == expected["tokens_scored"] as? Int)
    let perplexity = try #require(json["perplexity"] as? Double), reference = try #require(expected["perplexity"] as? Double)
    #expect(abs(perplexity / reference - 1) < 1e-4, "molt \(perplexity), PyTorch \(reference)")
}
