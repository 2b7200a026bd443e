import Foundation
import MoltTokenizer
import Testing

private let environment = ProcessInfo.processInfo.environment

/// Checks against the real GPT-NeoX-20B tokenizer, which is too big to commit: set MOLT_NEOX_DIR
/// to a directory holding its tokenizer.json and the neox_corpus.json that
/// `Scripts/make_tokenizer.py --check-neox DIR/tokenizer.json` writes beside it.
@Test(.enabled(if: environment["MOLT_NEOX_DIR"] != nil))
func matchesThePythonPackageWithGPTNeoX20B() throws {
    let directory = URL(fileURLWithPath: environment["MOLT_NEOX_DIR"] ?? "")
    let tokenizer = try Tokenizer(path: directory.appendingPathComponent("tokenizer.json").path)
    #expect(tokenizer.vocabularySize == 50277)
    #expect(tokenizer.endOfText == 0)
    #expect(tokenizer.encode("Hello world") == [12092, 1533])
    struct Cases: Decodable { let encode: [Corpus.Encoded] }
    let expected = try JSONDecoder().decode(
        Cases.self, from: Data(contentsOf: directory.appendingPathComponent("neox_corpus.json")))
    var mismatches = 0
    for case_ in expected.encode {
        let ids = tokenizer.encode(case_.text)
        if ids != case_.ids { mismatches += 1 }
        #expect(ids == case_.ids, "\(visible(case_.text))")
        #expect(tokenizer.decode(case_.ids) == case_.decoded, "\(visible(case_.text))")
    }
    let characters = expected.encode.reduce(0) { $0 + $1.text.unicodeScalars.count }
    print("GPT-NeoX-20B: \(expected.encode.count) texts, \(characters) characters, \(mismatches) mismatches")
}

/// Encoding and decoding speed: set MOLT_TOKENIZER_BENCH to a text file (about 1 MB) and run
/// in release (`swift test -c release --filter MoltTokenizerTests.measuresThroughput`).
@Test(.enabled(if: environment["MOLT_TOKENIZER_BENCH"] != nil))
func measuresThroughput() throws {
    let text = try String(contentsOfFile: environment["MOLT_TOKENIZER_BENCH"] ?? "", encoding: .utf8)
    let path = environment["MOLT_TOKENIZER_BENCH_JSON"] ?? Fixtures.tokenizerPath
    let clock = ContinuousClock()
    var tokenizer: Tokenizer?
    let load = clock.measure { tokenizer = try? Tokenizer(path: path) }
    let t = try #require(tokenizer)
    var ids: [Int] = []
    let cold = clock.measure { ids = t.encode(text) }
    let warm = clock.measure { ids = t.encode(text) }
    var decoded = ""
    let decode = clock.measure { decoded = t.decode(ids) }
    var streamed = ""
    let stream = clock.measure {
        var decoder = t.streamingDecoder()
        for id in ids { streamed += decoder.feed(id) }
        streamed += decoder.flush()
    }
    #expect(streamed == decoded)
    func rate(_ d: Duration) -> String {
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        return String(format: "%.2f M tokens/s (%.0f ms)", Double(ids.count) / seconds / 1e6, seconds * 1e3)
    }
    print("""
        \(path): loaded in \(load); \(text.utf8.count) bytes -> \(ids.count) tokens
        encode, empty cache: \(rate(cold))
        encode, warm cache:  \(rate(warm))
        decode:              \(rate(decode))
        streaming decode:    \(rate(stream))
        """)
}
