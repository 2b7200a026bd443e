import Foundation
import MoltCheckpoint
import MoltCore
import MoltTestSupport
import Testing

/// One file of the bad-input corpus and the words its error must contain.
struct BadCase: CustomTestStringConvertible, Sendable {
    let file: String
    let expect: String
    var testDescription: String { file }

    static var all: [BadCase] {
        guard let list = try? FixturePaths.json(FixturePaths.bad.appendingPathComponent("manifest.json")) as? [[String: Any]]
        else { return [] }
        return list.compactMap { entry in
            guard let file = entry["file"] as? String, let expect = entry["expect"] as? String else { return nil }
            return BadCase(file: file, expect: expect)
        }
    }
}

@Test func badCorpusIsPresent() {
    #expect(BadCase.all.count >= 30)
}

@Test(arguments: BadCase.all)
func badInputGetsItsSpecificError(_ bad: BadCase) throws {
    let path = FixturePaths.bad.appendingPathComponent(bad.file).path
    do {
        let checkpoint = try Checkpoint.open(path)
        Issue.record("accepted \(bad.file) with \(checkpoint.tensors.count) tensors")
    } catch let error as MoltError {
        #expect(error.message.lowercased().contains(bad.expect.lowercased()), "\(error.message)")
        #expect(error.message.contains(bad.file), "error does not name the file: \(error.message)")
    }
    // The malicious pickles would create these files if anything they name were ever run.
    let pwned = try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("molt-pwned") }
    #expect(pwned.isEmpty, "a pickle ran code: \(pwned)")
}

/// Every prefix of a valid file must be refused with an error, never a crash or a hang.
@Test(arguments: ["a-zip-bare/pytorch_model.bin", "a-legacy/pytorch_model.bin", "a-safetensors/model.safetensors"])
func truncatedFilesAreRefused(_ relative: String) throws {
    let source = FixturePaths.checkpoints.appendingPathComponent(relative)
    let data = try Data(contentsOf: source)
    let scratch = try ScratchDirectory()
    // Every offset of the first 4 KiB (headers and pickle), then a spread across the rest.
    let cuts = Array(0..<min(4096, data.count)) + stride(from: 4096, to: data.count, by: max(1, data.count / 97)).map { $0 }
    let target = URL(fileURLWithPath: scratch.file(source.lastPathComponent))
    for cut in cuts {
        try data.prefix(cut).write(to: target)
        #expect(throws: MoltError.self, "prefix of \(cut) bytes accepted") { try Checkpoint.open(target.path) }
    }
}

@Test func mismatchedConfigListsEveryProblem() throws {
    let source = FixturePaths.checkpoints.appendingPathComponent("a-safetensors")
    let scratch = try ScratchDirectory()
    let directory = URL(fileURLWithPath: scratch.path)
    try FileManager.default.createSymbolicLink(
        at: directory.appendingPathComponent("model.safetensors"),
        withDestinationURL: source.appendingPathComponent("model.safetensors"))
    var config = try FixturePaths.json(source.appendingPathComponent("config.json")) as! [String: Any]
    config["ffn_hidden_size"] = 32
    config["mamba_moe_layers"] = ["r", "8", "r", "r"]
    try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))

    let checkpoint = try Checkpoint.open(directory.path)
    let problems = checkpoint.shapeProblems
    #expect(problems.contains("missing tensor decoder.layers.3.mixer.in_proj.weight [128, 32]"))
    #expect(problems.contains { $0.hasPrefix("unexpected tensor decoder.layers.3.mixer.router.weight") })
    #expect(problems.contains { $0.hasPrefix("tensor decoder.layers.1.mixer.local_experts.0.linear_fc1.weight has shape [128, 32], expected [64, 32]") })
    do {
        _ = try checkpoint.requireModel()
        Issue.record("mismatched checkpoint accepted")
    } catch let error as MoltError {
        #expect(error.message.contains("\(problems.count) problem(s)"))
    }
}
