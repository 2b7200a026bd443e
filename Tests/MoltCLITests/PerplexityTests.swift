import Foundation
import Testing

private let trained = MoltBinary.repository.appendingPathComponent("Fixtures/trained").path
private let tokenizer = trained + "/tokenizer.json"
private let calibration = trained + "/calibration.txt"

private func object(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Test func perplexityAgainstTheSourceIsOverTheParityChecksTokens() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("q8.molt").path
        let report = dir.appendingPathComponent("report.json").path
        let convert = try MoltBinary.run([
            "convert", trained, "-o", out, "--experts", "q8", "--method", "search", "--tokenizer", tokenizer,
            "--calibration", calibration, "--report", report,
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stderr.contains("\nperplexity on the built-in text: source "))
        #expect(convert.stderr.contains(
            " predicted tokens (4 pieces of up to 128 tokens, each piece's first token unpredicted: "
                + "molt perplexity --context 128 --chunks 4 scores the same)\n"))
        let parity = try object(try String(contentsOfFile: report, encoding: .utf8))
        let texts = try #require(parity["perplexity_by_text"] as? [[String: Any]])
        #expect(texts.map { $0["text"] as? String } == ["text", "calibration"])
        let piece = try #require(texts.last)
        let tokens = try #require(piece["tokens"] as? Int)
        #expect(tokens == 4 * 127)
        let source = try #require(piece["source"] as? Double), converted = try #require(piece["converted"] as? Double)

        // The source alone, on the same chunks: the same figure.
        let alone = try MoltBinary.run([
            "perplexity", trained, "--tokenizer", tokenizer, "--text", calibration, "--context", "128", "--chunks", "4", "--json",
        ])
        #expect(alone.status == 0, "\(alone.stderr)")
        let aloneJSON = try object(alone.stdout)
        #expect(aloneJSON["tokens"] as? Int == tokens)
        #expect(abs(try #require(aloneJSON["perplexity"] as? Double) / source - 1) < 1e-5)

        // The conversion against it: both figures, KL and top-1 per chunk, over the same tokens.
        let against = try MoltBinary.run([
            "perplexity", out, "--against", trained, "--text", calibration, "--context", "128", "--chunks", "4", "--json",
        ])
        #expect(against.status == 0, "\(against.stderr)")
        let json = try object(against.stdout)
        #expect(json["tokens"] as? Int == tokens)
        #expect(json["chunks"] as? Int == 4)
        #expect(abs(try #require(json["perplexity_reference"] as? Double) / source - 1) < 1e-5)
        let ppl = try #require(json["perplexity"] as? Double)
        // The check decodes each piece's last 8 positions; perplexity prefills them.
        #expect(abs(ppl / converted - 1) < 1e-3, "perplexity \(ppl), parity check \(converted)")
        let delta = try #require(json["delta_perplexity"] as? Double)
        #expect(abs(delta - (ppl - source)) < 1e-3 * source)
        let kl = try #require(json["kl_mean"] as? Double), top1 = try #require(json["top1"] as? Double)
        #expect(kl > 0 && kl < 0.01)
        #expect(top1 > 0.93 && top1 <= 1)
        let chunks = try #require(json["per_chunk"] as? [[String: Any]])
        #expect(chunks.count == 4)
        #expect(chunks.allSatisfy { $0["tokens"] as? Int == 127 })

        let text = try MoltBinary.run([
            "perplexity", out, "--against", trained, "--text", calibration, "--context", "128", "--chunks", "4",
        ])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("chunk") == true)
        #expect(lines.first?.contains("ppl ref") == true && lines.first?.contains("same top-1") == true)
        #expect(lines.contains { $0.hasPrefix("all ") })
        #expect(text.stdout.contains(" for \(trained) ("))
        #expect(text.stdout.hasSuffix(
            "over \(tokens) predicted tokens of \(calibration) (4 chunks of up to 128 tokens, each chunk's first token unpredicted)\n"))
    }
}

@Test func perplexityAgainstAModelWithAnotherVocabularyIsRefused() throws {
    let result = try MoltBinary.run([
        "perplexity", trained, "--against", MoltBinary.fixture("a-zip-bare"), "--text", calibration, "--tokenizer", tokenizer,
    ])
    #expect(result.status == 2)
    #expect(result.stderr.hasPrefix("molt: error: \(MoltBinary.fixture("a-zip-bare")): has "))
    #expect(result.stderr.hasSuffix(" vocabulary rows, \(trained) has 4096: the two models do not share a vocabulary\n"))
}
