import Foundation
import MoltCore
import MoltFormat
import Testing

private let trained = MoltBinary.repository.appendingPathComponent("Fixtures/trained").path
private let tokenizer = trained + "/tokenizer.json"

@Test func q8ExpertsPassTheDefaultThresholdsOnTheTrainedModel() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("q8.molt").path
        // Calibrated on a piece of the fixture's calibration text (self-generating it is slow in debug builds).
        let result = try MoltBinary.run([
            "convert", trained, "-o", out, "--experts", "q8", "--tokenizer", tokenizer, "--calibration", trained + "/calibration.txt",
            "--calibration-tokens", "1024",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("parity: PASSED"))
        // Without --method, a model this small is quantized by GPTQ, and the conversion says why.
        #expect(result.stderr.contains("quantizer: gptq, the default where its work is small"), "\(result.stderr)")
        let file = try MoltFile(path: out)
        #expect(file.header.tokenizer != nil)
        #expect(file.header.parity["quantizer"]?["method"] == .string("gptq"))
    }
}

@Test func runStreamsTextFromTheEmbeddedTokenizer() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("m.molt").path
        #expect(try MoltBinary.run(["convert", trained, "-o", out, "--tokenizer", tokenizer, "--method", "search"]).status == 0)
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

@Test func calibrateThenConvertWithTheSavedStatistics() throws {
    try MoltBinary.withScratch { dir in
        let stats = dir.appendingPathComponent("s.moltcal").path, out = dir.appendingPathComponent("m.molt").path
        let calibrate = try MoltBinary.run([
            "calibrate", trained, "--text", trained + "/calibration.txt", "--tokens", "600", "-o", stats, "--json",
        ])
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        #expect(calibrate.stdout.contains("\"routed_tokens\""))
        let convert = try MoltBinary.run([
            "convert", trained, "-o", out, "--calibration-stats", stats, "--experts", "q4", "--mamba", "q4", "--embedding", "q8",
            "--max-kl", "1", "--min-top1", "0", "--min-routing", "0",
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        // The parity report names the method and the experts' counts; so does inspect.
        // Statistics without the Gram matrix (no --gram) leave the default at the weighted search.
        #expect(convert.stderr.contains("quantizer: weighted, the default with statistics that have no Gram matrix"))
        #expect(convert.stderr.contains("calibrated: \"weighted\" on 600 tokens of text sha256"))
        let file = try MoltFile(path: out)
        let calibration = file.header.quantization["calibration"]
        #expect(calibration?["tokens"] == .int(600))
        if case .array(let experts) = calibration?["experts"] ?? .null { #expect(experts.count == 32) } else { Issue.record("no experts") }
        #expect(file.header.parity["quantizer"]?["method"] == .string("weighted"))
        let inspect = try MoltBinary.run(["inspect", out])
        #expect(inspect.stdout.contains("layer 7 routed tokens per expert:"), "\(inspect.stdout)")

        // Statistics of another source are refused, naming both hashes.
        let other = dir.appendingPathComponent("other").path
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        for name in ["config.json", "tokenizer.json"] {
            try FileManager.default.copyItem(atPath: trained + "/" + name, toPath: other + "/" + name)
        }
        var weights = try Data(contentsOf: URL(fileURLWithPath: trained + "/model.safetensors"))
        weights[weights.count - 1] ^= 1
        try weights.write(to: URL(fileURLWithPath: other + "/model.safetensors"))
        let refused = try MoltBinary.run(["convert", other, "-o", dir.appendingPathComponent("x.molt").path, "--calibration-stats", stats])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("statistics were measured on a source with SHA-256"), "\(refused.stderr)")
        #expect(refused.stderr.contains(file.header.provenance.sources[0].sha256) && refused.stderr.contains(weights.sha256Hex))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.molt").path))
    }
}

@Test func targetKLWidensTheMostSensitiveTensorsUntilTheCheckMeetsIt() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("t.molt").path, report = dir.appendingPathComponent("r.json").path
        // Every 2-D weight q4 loses a mean KL of about 1e-2 on the verification set: 7e-3 forces promotions.
        let convert = try MoltBinary.run([
            "convert", trained, "-o", out, "--experts", "q4", "--mamba", "q4", "--embedding", "q4", "--tokenizer", tokenizer,
            "--calibration", trained + "/calibration.txt", "--calibration-tokens", "256", "--target-kl", "7e-3", "--report", report,
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stderr.contains("target-kl: round 1: mean KL"), "\(convert.stderr)")
        let file = try MoltFile(path: out)
        let q = file.header.quantization
        guard case .object(let promoted) = q["target_kl"]?["promoted"] ?? .null, case .object(let types) = q["types"] ?? .null else {
            Issue.record("no target_kl record: \(q.serialized())")
            return
        }
        #expect(!promoted.isEmpty)
        // The recipe lists every tensor's type, as stored; the promoted ones are wider than q4.
        #expect(types.count == file.header.tensors.count)
        for entry in file.header.tensors { #expect(types.first { $0.0 == entry.name }?.1 == .string(entry.type.rawValue)) }
        for (name, type) in promoted { #expect(type != .string("q4") && file.entry(name)?.type.rawValue == { if case .string(let s) = type { s } else { "" } }()) }
        // The check met the target, and says how many bits per weight that took.
        let parity = file.header.parity
        guard case .double(let kl) = parity["prefill"]?["kl_mean"] ?? .null else {
            Issue.record("no mean KL: \(parity.serialized())")
            return
        }
        #expect(kl <= 7e-3)
        guard case .double(let bits) = parity["quantizer"]?["bits_per_weight"] ?? .null else {
            Issue.record("no bits per weight")
            return
        }
        #expect(bits > 5 && bits < 32)
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("\"target_kl\""))
        let inspect = try MoltBinary.run(["inspect", out])
        #expect(inspect.stdout.contains("target-kl:  0.007 in "), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("bits per weight"))

        // 16 bits everywhere still differs from the f32 source: an impossible target fails, writing nothing.
        let impossible = dir.appendingPathComponent("i.molt").path
        let failed = try MoltBinary.run([
            "convert", trained, "-o", impossible, "--experts", "q4", "--tokenizer", tokenizer,
            "--calibration", trained + "/calibration.txt", "--calibration-tokens", "256", "--target-kl", "1e-15",
        ])
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(failed.stderr.contains("the target mean KL 1e-15 cannot be met"), "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix("i.molt") && !$0.contains("molt-tmp") })
        #expect(try MoltBinary.run(["convert", trained, "-o", impossible, "--target-kl", "0"]).status == 1)
        #expect(try MoltBinary.run(["convert", trained, "-o", impossible, "--target-kl", "1e-3", "--no-verify"]).status == 1)
    }
}
