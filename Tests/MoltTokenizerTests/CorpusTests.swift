import Foundation
import MoltCore
import MoltTokenizer
import Testing

@Test func encodesEveryCorpusStringLikeThePythonPackage() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let corpus = try #require(Fixtures.corpus)
    #expect(corpus.encode.count > 300)
    for case_ in corpus.encode {
        #expect(tokenizer.encode(case_.text) == case_.ids, "\(visible(case_.text))")
    }
}

@Test func decodesEveryCorpusStringLikeThePythonPackage() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let corpus = try #require(Fixtures.corpus)
    for case_ in corpus.encode {
        #expect(tokenizer.decode(case_.ids) == case_.decoded, "\(visible(case_.text))")
        #expect(tokenizer.decode(case_.ids, skipSpecialTokens: true) == case_.decoded_skipping_special, "\(visible(case_.text))")
    }
}

@Test func decodesInvalidUTF8WithReplacementCharactersLikeThePythonPackage() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let corpus = try #require(Fixtures.corpus)
    #expect(!corpus.decode.isEmpty)
    for case_ in corpus.decode {
        #expect(tokenizer.decode(case_.ids) == case_.decoded, "\(case_.ids)")
    }
}

/// Each variant replaces some top-level members of the fixture tokenizer.json.
@Test(arguments: ["prefix_space", "no_regex", "no_normalizer", "ignore_merges", "added_options"])
func encodesLikeThePythonPackageWithOption(_ name: String) throws {
    let corpus = try #require(Fixtures.corpus)
    let variant = try #require(corpus.variants.first { $0.name == name })
    let corpusObject = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.directory.appendingPathComponent("corpus.json"))) as? [String: Any]
    let variants = try #require(corpusObject?["variants"] as? [[String: Any]])
    let replace = try #require(variants.first { $0["name"] as? String == name }?["replace"] as? [String: Any])
    var object = try Fixtures.tokenizerObject()
    object.merge(replace) { $1 }
    let tokenizer = try Tokenizer(json: JSONSerialization.data(withJSONObject: object), file: name)
    for case_ in variant.encode {
        #expect(tokenizer.encode(case_.text) == case_.ids, "\(visible(case_.text))")
        #expect(tokenizer.decode(case_.ids) == case_.decoded, "\(visible(case_.text))")
    }
}

@Test func readsMergesWrittenAsStrings() throws {
    let corpus = try #require(Fixtures.corpus)
    var object = try Fixtures.tokenizerObject()
    var model = try #require(object["model"] as? [String: Any])
    let pairs = try #require(model["merges"] as? [[String]])
    model["merges"] = pairs.map { $0.joined(separator: " ") }
    object["model"] = model
    let tokenizer = try Tokenizer(json: JSONSerialization.data(withJSONObject: object), file: "strings.json")
    for case_ in corpus.encode {
        #expect(tokenizer.encode(case_.text) == case_.ids, "\(visible(case_.text))")
    }
}

@Test func answersVocabularyQuestions() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    #expect(tokenizer.vocabularySize == 4096)
    #expect(tokenizer.endOfText == 0)
    #expect(tokenizer.id(of: "<|endoftext|>") == 0)
    #expect(tokenizer.id(of: "<|padding|>") == 1)
    #expect(tokenizer.token(of: 1) == "<|padding|>")
    #expect(tokenizer.isSpecial(0) && tokenizer.isSpecial(1) && !tokenizer.isSpecial(2))
    #expect(tokenizer.token(of: 4096) == nil && tokenizer.token(of: -1) == nil)
    let space = try #require(tokenizer.id(of: "Ġ"))
    #expect(tokenizer.encode(" ") == [space])
    #expect(tokenizer.decode([-5, 4096, Int.max]) == "")
}

@Test func loadsFromAPath() throws {
    let tokenizer = try Tokenizer(path: Fixtures.tokenizerPath)
    #expect(tokenizer.encode("hello world") == Fixtures.tokenizer?.encode("hello world"))
    #expect(throws: MoltError.self) { try Tokenizer(path: "/nonexistent/tokenizer.json") }
}

/// GPT-NeoX-20B has no tokens for the bytes UTF-8 never uses; such a vocabulary is accepted.
@Test func acceptsVocabulariesWithoutBytesUTF8NeverUses() throws {
    var object = try Fixtures.tokenizerObject()
    var model = try #require(object["model"] as? [String: Any])
    var vocab = try #require(model["vocab"] as? [String: Any])
    let merges = try #require(model["merges"] as? [[String]])
    // "À" (byte C0) gives its id to a new token, so ids stay dense.
    vocab["<|new|>"] = vocab["À"]
    vocab["À"] = nil
    model["vocab"] = vocab
    model["merges"] = merges.filter { !$0.contains { $0.contains("À") } }
    object["model"] = model
    let tokenizer = try Tokenizer(json: JSONSerialization.data(withJSONObject: object), file: "no-c0.json")
    #expect(tokenizer.decode(tokenizer.encode("Àà 日本")) == "Àà 日本")
}

/// A megabyte of letters is one word; BPE over it must stay fast. It takes about 2 s alone in a
/// debug build and a quadratic merge loop would take hours, so the bound is a hang guard with
/// room for a loaded machine. It is timed around the call: a test's time limit also counts
/// the time it waits for one of the two cores while every suite runs (over four minutes in CI).
@Test func encodesOneHugeWord() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let word = String(repeating: "abcdefghij", count: 100_000)
    let start = ContinuousClock.now
    let ids = tokenizer.encode(word)
    #expect(ContinuousClock.now - start < .seconds(120))
    #expect(ids.count < word.utf8.count)
    #expect(tokenizer.decode(ids) == word)
}

@Test func encodesFromManyThreadsAtOnce() async throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let corpus = try #require(Fixtures.corpus)
    let cases = corpus.encode
    let failures = await withTaskGroup(of: Int.self) { group in
        for shard in 0..<4 {
            group.addTask {
                cases.enumerated().filter { $0.offset % 4 == shard }.filter { tokenizer.encode($0.element.text) != $0.element.ids }.count
            }
        }
        return await group.reduce(0, +)
    }
    #expect(failures == 0)
}
