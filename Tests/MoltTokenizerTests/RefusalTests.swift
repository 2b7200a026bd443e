import Foundation
import MoltCore
import MoltTokenizer
import Testing

/// A tokenizer.json variant and what the refusal must say: its kind and a fragment naming the
/// JSON path or the reason.
private struct Refusal: CustomTestStringConvertible, Sendable {
    let name: String
    let kind: MoltError.Kind
    let fragment: String
    let change: @Sendable (inout [String: Any]) -> Void

    var testDescription: String { name }
}

private func model(_ object: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
    var m = object["model"] as? [String: Any] ?? [:]
    edit(&m)
    object["model"] = m
}

private func vocab(_ object: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
    model(&object) { m in
        var v = m["vocab"] as? [String: Any] ?? [:]
        edit(&v)
        m["vocab"] = v
    }
}

private let refusals: [Refusal] = [
    Refusal(name: "WordPiece model", kind: .unsupported, fragment: "model.type: model type \"WordPiece\"") { o in
        model(&o) { $0["type"] = "WordPiece" }
    },
    Refusal(name: "model without type", kind: .badInput, fragment: "model.type: missing") { o in
        model(&o) { $0["type"] = nil }
    },
    Refusal(name: "NFKC normalizer", kind: .unsupported, fragment: "normalizer.type: normalizer \"NFKC\"") { o in
        o["normalizer"] = ["type": "NFKC"]
    },
    Refusal(name: "lowercase in a sequence", kind: .unsupported, fragment: "normalizer.normalizers[1].type") { o in
        o["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Lowercase"]]]
    },
    Refusal(name: "Metaspace pre-tokenizer", kind: .unsupported, fragment: "pre_tokenizer.type: pre-tokenizer \"Metaspace\"") { o in
        o["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"]
    },
    Refusal(name: "split sequence pre-tokenizer", kind: .unsupported, fragment: "pre-tokenizer \"Sequence\"") { o in
        o["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "ByteLevel", "add_prefix_space": false]]]
    },
    Refusal(name: "no pre-tokenizer", kind: .unsupported, fragment: "pre_tokenizer: is null") { o in
        o["pre_tokenizer"] = NSNull()
    },
    Refusal(name: "pre-tokenizer without add_prefix_space", kind: .badInput, fragment: "pre_tokenizer.add_prefix_space: missing") { o in
        o["pre_tokenizer"] = ["type": "ByteLevel"]
    },
    Refusal(name: "no decoder", kind: .unsupported, fragment: "decoder: is null") { o in
        o["decoder"] = NSNull()
    },
    Refusal(name: "WordPiece decoder", kind: .unsupported, fragment: "decoder.type: decoder \"WordPiece\"") { o in
        o["decoder"] = ["type": "WordPiece"]
    },
    Refusal(name: "template post-processor", kind: .unsupported, fragment: "post_processor.type") { o in
        o["post_processor"] = ["type": "TemplateProcessing", "single": [], "pair": [], "special_tokens": [:]]
    },
    Refusal(name: "truncation", kind: .unsupported, fragment: "truncation: must be null") { o in
        o["truncation"] = ["max_length": 10]
    },
    Refusal(name: "dropout", kind: .unsupported, fragment: "model.dropout") { o in
        model(&o) { $0["dropout"] = 0.1 }
    },
    Refusal(name: "subword prefix", kind: .unsupported, fragment: "model.continuing_subword_prefix") { o in
        model(&o) { $0["continuing_subword_prefix"] = "##" }
    },
    Refusal(name: "string id", kind: .badInput, fragment: "model.vocab.hello: expected an integer, found a string") { o in
        vocab(&o) { $0["hello"] = "3" }
    },
    Refusal(name: "fractional id", kind: .badInput, fragment: "model.vocab.hello: 3.5 is not an integer") { o in
        vocab(&o) { $0["hello"] = 3.5 }
    },
    Refusal(name: "duplicate id", kind: .badInput, fragment: "is also the id of") { o in
        vocab(&o) { $0["hello"] = 7 }
    },
    Refusal(name: "negative id", kind: .badInput, fragment: "id -1 is out of range") { o in
        vocab(&o) { $0["hello"] = -1 }
    },
    Refusal(name: "huge id", kind: .badInput, fragment: "id 100000000000 is out of range") { o in
        vocab(&o) { $0["hello"] = 100_000_000_000 }
    },
    Refusal(name: "gap in ids", kind: .badInput, fragment: "no token has id 4095, but ids go up to 4096") { o in
        vocab(&o) { v in
            let last = v.first { $0.value as? Int == 4095 }!.key
            v[last] = 4096
        }
    },
    Refusal(name: "missing byte", kind: .unsupported, fragment: "no token for byte 33 (\"!\")") { o in
        // "!" gives its id to another token, so ids stay dense.
        vocab(&o) { v in
            v["hello"] = v["!"]
            v["!"] = nil
        }
        model(&o) { m in
            m["merges"] = (m["merges"] as? [[String]] ?? []).filter { !$0.contains { $0.contains("!") } }
        }
    },
    Refusal(name: "merge of an unknown token", kind: .badInput, fragment: "model.merges[3]: \"zzzz\" is not in model.vocab") { o in
        model(&o) { m in
            var merges = m["merges"] as? [[String]] ?? []
            merges[3] = ["zzzz", "a"]
            m["merges"] = merges
        }
    },
    Refusal(name: "merge without its result", kind: .badInput, fragment: "the merged token \"!!!!!!!!\"") { o in
        model(&o) { m in m["merges"] = (m["merges"] as? [[String]] ?? []) + [["!!!!", "!!!!"]] }
        vocab(&o) { $0["!!!!"] = $0["!!!!"] ?? 4096 }
    },
    Refusal(name: "merge string with three parts", kind: .badInput, fragment: "model.merges[0]: \"a b c\" is not two tokens") { o in
        model(&o) { m in m["merges"] = ["a b c"] }
    },
    Refusal(name: "merge pair with one element", kind: .badInput, fragment: "model.merges[0]: expected a pair") { o in
        model(&o) { m in m["merges"] = [["a"]] }
    },
    Refusal(name: "duplicate merge", kind: .badInput, fragment: "appears twice") { o in
        model(&o) { m in
            let merges = m["merges"] as? [[String]] ?? []
            m["merges"] = merges + [merges[5]]
        }
    },
    Refusal(name: "added token id clash", kind: .badInput, fragment: "added_tokens[2].id: id 5 of \"<|new|>\" is also the id of") { o in
        o["added_tokens"] = (o["added_tokens"] as? [Any] ?? []) + [["id": 5, "content": "<|new|>", "special": true]]
    },
    Refusal(name: "added token id differs from vocab", kind: .badInput, fragment: "has id 4096 here but 0 in model.vocab") { o in
        o["added_tokens"] = [["id": 4096, "content": "<|endoftext|>", "special": true]]
    },
    Refusal(name: "added token twice", kind: .badInput, fragment: "\"<|new|>\" is added twice") { o in
        o["added_tokens"] = (o["added_tokens"] as? [Any] ?? [])
            + [["id": 4096, "content": "<|new|>"], ["id": 4097, "content": "<|new|>"]]
    },
    Refusal(name: "empty added token", kind: .badInput, fragment: "added_tokens[2]: content is empty") { o in
        o["added_tokens"] = (o["added_tokens"] as? [Any] ?? []) + [["id": 4096, "content": ""]]
    },
    Refusal(name: "added tokens not a list", kind: .badInput, fragment: "added_tokens: expected an array, found an object") { o in
        o["added_tokens"] = ["id": 4096]
    },
]

@Test(arguments: refusals)
private func refusesUnsupportedOrInconsistentFiles(_ refusal: Refusal) throws {
    var object = try Fixtures.tokenizerObject()
    refusal.change(&object)
    let data = try JSONSerialization.data(withJSONObject: object)
    let error = #expect(throws: MoltError.self) { try Tokenizer(json: data, file: "variant.json") }
    #expect(error?.kind == refusal.kind, "\(error?.message ?? "")")
    #expect(error?.message.hasPrefix("variant.json: ") == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(refusal.fragment) == true, "\(error?.message ?? "")")
}

@Test(arguments: [
    ("", "byte 0: invalid JSON: unexpected end of text"),
    ("{\"model\": ", "unexpected end of text"),
    ("{\"model\": {}} x", "unexpected text after the JSON value"),
    ("{\"a\": 1, \"a\": 2}", "byte 9: key 'a' appears twice"),
    ("{\"model\": {\"vocab\": {\"x\": 1, \"x\": 2}}}", "key 'x' appears twice"),
    ("[1, 2]", "top level: expected an object, found an array"),
    ("{\"a\": \"\\ud800\"}", "unpaired surrogate"),
    ("{\"a\": tru}", "unexpected character"),
    ("{\"a\": 01}", "expected"),
    ("{\"a\": \"x\ny\"}", "control character in string"),
    (String(repeating: "[", count: 100), "nested deeper than 64 levels"),
    ("{}", "pre_tokenizer: missing"),
])
func refusesMalformedJSON(_ text: String, _ fragment: String) {
    let error = #expect(throws: MoltError.self) { try Tokenizer(json: Data(text.utf8), file: "bad.json") }
    #expect(error?.kind == .badInput)
    #expect(error?.message.hasPrefix("bad.json: ") == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
}

@Test func refusesTextThatIsNotUTF8() {
    let error = #expect(throws: MoltError.self) { try Tokenizer(json: Data([0x7B, 0xFF, 0x7D]), file: "bad.json") }
    #expect(error?.message == "bad.json: not valid UTF-8 text")
}
