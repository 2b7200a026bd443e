import Foundation
import MoltCheckpoint
import MoltRuntime
import Testing

/// The golden greedy continuation PyTorch computed for the first sequences of set "a".
private func goldenGreedy(_ set: String) throws -> [(tokens: [Int], next: [Int])] {
    let url = MoltBinary.repository.appendingPathComponent("Fixtures/golden/\(set).json")
    let object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let sequences = try #require(object["sequences"] as? [[String: Any]])
    return try sequences.map { sequence in
        let greedy = try #require(sequence["greedy"] as? [String: Any])
        return (try #require(sequence["tokens"] as? [Int]), try #require(greedy["new_tokens"] as? [Int]))
    }
}

@Test func generatePrintsPyTorchsGreedyContinuation() throws {
    for (tokens, next) in try goldenGreedy("b") {
        let result = try MoltBinary.run([
            "generate", MoltBinary.fixture("b-zip-megatron"), "--tokens", tokens.map(String.init).joined(separator: ","),
            "-n", String(next.count), "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["tokens"] as? [Int] == next)
    }
}

@Test func logitsThroughDecodeMatchPrefill() throws {
    try MoltBinary.withScratch { dir in
        let prefill = dir.appendingPathComponent("prefill.npy").path
        let decode = dir.appendingPathComponent("decode.npy").path
        let model = MoltBinary.fixture("a-safetensors")
        #expect(try MoltBinary.run(["logits", model, "--tokens", "5,17,42,0,255", "-o", prefill]).status == 0)
        #expect(try MoltBinary.run(["logits", model, "--tokens", "5,17,42,0,255", "-o", decode, "--decode"]).status == 0)
        let a = try Npy.read(path: prefill), b = try Npy.read(path: decode)
        #expect(a.shape == [5, 256])
        let x = try a.floatValues(), y = try b.floatValues()
        let difference = zip(x, y).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        let norm = x.reduce(0.0) { $0 + Double($1 * $1) }
        #expect((difference / norm).squareRoot() <= 1e-5)
    }
}

@Test func badTokensAreBadInput() throws {
    let model = MoltBinary.fixture("a-zip-bare")
    let outside = try MoltBinary.run(["generate", model, "--tokens", "5,256"])
    #expect(outside.status == 2)
    #expect(outside.stderr.contains("token id 256 at position 1"))
    let empty = try MoltBinary.run(["generate", model, "--tokens", ""])
    #expect(empty.status == 2)
    let garbled = try MoltBinary.run(["generate", model, "--tokens", "5,x"])
    #expect(garbled.status == 1)
    let noConfig = try MoltBinary.run(["generate", MoltBinary.fixture("special/views.bin"), "--tokens", "1"])
    #expect(noConfig.status == 2)
    #expect(noConfig.stderr.contains("config.json"))
}
