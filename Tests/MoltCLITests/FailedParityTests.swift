import Foundation
import MoltCore
import MoltFormat
import Testing

private let damage = ["--test-perturb", "decoder.layers.4.mixer.local_experts.1.linear_fc2.weight"]

@Test func aFailedConversionSaysWhatToTryAndAKeptFileWarnsWhenRun() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("out.molt").path
        let kept = dir.appendingPathComponent("kept.molt").path
        let convert = try MoltBinary.run(
            ["convert", MoltBinary.fixture("b-zip-megatron"), "-o", out, "--experts", "q8", "--keep-failed", kept] + damage)
        #expect(convert.status == 3)
        #expect(convert.stderr.contains(
            "molt: error: \(out): FAILED: the converted model does not match its source within the thresholds; "
                + "kept at \(kept), marked as failed\n"))
        #expect(convert.stderr.contains(
            "molt: try: store the layer the report blames wider: decoder.layers.4.mixer.local_experts."))
        #expect(convert.stderr.contains(" is q8 with rel rms "))
        #expect(convert.stderr.contains("; convert with --experts f16\n"))
        #expect(convert.stderr.contains("molt: try: or accept this much difference, if it is expected (a small or random model "
            + "flips its routing easily): --max-kl "))
        #expect(!convert.stderr.contains("molt: try: --keep-failed FILE"), "--keep-failed was given")
        #expect(convert.stderr.contains("molt: try: --no-verify skips the check (recorded in the file)\n"))
        let dropped = try MoltBinary.run(
            ["convert", MoltBinary.fixture("b-zip-megatron"), "-o", out, "--experts", "q8"] + damage)
        #expect(dropped.status == 3)
        #expect(dropped.stderr.contains("molt: try: --keep-failed FILE keeps the converted file to study"))

        let generate = try MoltBinary.run(["generate", kept, "--tokens", "1,2", "-n", "2"])
        #expect(generate.status == 0)
        #expect(generate.stderr == "molt: warning: \(kept) failed its parity check at conversion (kept with --keep-failed): "
            + "its outputs may differ from the source's\n")

        let warning = "\(kept) failed its parity check at conversion (kept with --keep-failed): its outputs may differ from the source's"
        let export = try MoltBinary.run(["export", kept, "-o", dir.appendingPathComponent("x.safetensors").path])
        #expect(export.status == 0)
        #expect(export.stderr == "molt: warning: \(warning)\n")

        // serve logs it as a warning of its own log, once the model is loaded.
        let serve = Process()
        serve.executableURL = MoltBinary.executable
        serve.arguments = ["serve", kept, "--port", "0"]
        let log = Pipe()
        serve.standardError = log
        try serve.run()
        var text = ""
        while !text.contains("model ready") {
            let chunk = log.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        serve.terminate()
        serve.waitUntilExit()
        let line = text.split(separator: "\n").first { $0.contains("failed its parity check") }.map(String.init)
        #expect(line?.contains(" warning molt.serve:") == true, "\(text)")
        #expect(line?.hasSuffix(" \(warning)") == true, "\(text)")

        let alone = try MoltBinary.run(["verify", kept])
        #expect(alone.stderr.hasPrefix("molt: warning: \(warning)\n"))

        let verify = try MoltBinary.run(["verify", kept, "--against", MoltBinary.fixture("b-zip-megatron")])
        #expect(verify.status == 3)
        #expect(verify.stderr.contains("molt: error: \(kept): FAILED: it does not match its source within the thresholds\n"))
        #expect(verify.stderr.contains("molt: try: store the layer the report blames wider"))
        #expect(!verify.stderr.contains("--keep-failed FILE"))
    }
}

@Test func outputPathsAreCheckedBeforeAnyWork() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("out.molt").path
        let report = dir.appendingPathComponent("report.json").path
        try Data("{}".utf8).write(to: URL(fileURLWithPath: report))
        let existing = try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", out, "--report", report])
        #expect(existing.status == 1)
        #expect(existing.stderr == "molt: error: \(report) exists; pass --force to overwrite\n")
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "{}")

        let nowhere = dir.appendingPathComponent("missing/report.json").path
        let unwritable = try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", out, "--report", nowhere])
        #expect(unwritable.status == 2)
        #expect(unwritable.stderr.hasPrefix("molt: error: \(nowhere): cannot create "))
        #expect(unwritable.stderr.hasSuffix(": No such file or directory\n"))
        #expect(!unwritable.stderr.contains("parity"), "the conversion ran before the path was checked")

        let keep = try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", out, "--keep-failed", report])
        #expect(keep.status == 1)
        #expect(keep.stderr == "molt: error: \(report) exists; pass --force to overwrite\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.json"])

        // verify --report: the same rule, and --force to replace.
        let molt = dir.appendingPathComponent("a.molt").path
        let lossless = ["--experts", "f32", "--mamba", "f32", "--embedding", "f32"]
        #expect(try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", molt] + lossless).status == 0)
        let again = try MoltBinary.run(["verify", molt, "--against", MoltBinary.fixture("a-zip-bare"), "--report", report])
        #expect(again.status == 1)
        #expect(again.stderr == "molt: error: \(report) exists; pass --force to overwrite\n")
        let forced = try MoltBinary.run(["verify", molt, "--against", MoltBinary.fixture("a-zip-bare"), "--report", report, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("\"passed\": true"))
    }
}

@Test func helpOffersOnlyWhatEachCommandTakes() throws {
    let verify = try MoltBinary.run(["verify", "--help"])
    #expect(!verify.stdout.contains("--no-verify"))
    #expect(!verify.stdout.contains("--keep-failed"))
    let convert = try MoltBinary.run(["convert", "--help"])
    #expect(convert.stdout.contains("--others <others>"))
    let others = try #require(convert.stdout.components(separatedBy: "--others <others>").last)
    #expect(others.contains("(values: f32, f16, bf16;"))
    let refused = try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", "/tmp/never.molt", "--others", "q8"])
    #expect(refused.status == 1)
    #expect(refused.stderr.hasPrefix("molt: error: The value 'q8' is invalid for '--others <others>'"))
}

@Test func verifyWithoutASourceSaysFailedAndWhatToDo() throws {
    try MoltBinary.withScratch { dir in
        let good = dir.appendingPathComponent("good.molt").path
        let lossless = ["--experts", "f32", "--mamba", "f32", "--embedding", "f32"]
        #expect(try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", good, "--no-verify"] + lossless).status == 0)
        let passed = try MoltBinary.run(["verify", good])
        #expect(passed.status == 0)
        #expect(passed.stderr.hasSuffix(": PASSED\n"))

        // The same file with a NaN in its final norm, checksums intact: only running it shows.
        let broken = dir.appendingPathComponent("broken.molt").path
        try rewrite(good, to: broken) { name, tensor in
            guard name == "decoder.final_layernorm.weight" else { return tensor }
            let values = [Float](repeating: .nan, count: tensor.count)
            return try Tensor(storage: values.withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: tensor.shape)
        }
        let verify = try MoltBinary.run(["verify", broken])
        #expect(verify.status == 3)
        #expect(verify.stderr.hasSuffix(
            "molt: error: \(broken): FAILED: its logits are not finite numbers (prefill vs decode over 128 positions: "
                + "relative L2 nan (limit 1e-05)); a weight it stores is NaN or infinite: convert it again from its source\n"))

        // The tiny random fixture with the default q4/q8 recipe: decode's integer activations
        // moved its logits by about 1e-1 against prefill while prefill took f32 activations;
        // since q4 prefill rounds them to int8 as decode does (Formats/kernels.md), the two
        // agree within the limit (1.6e-2 measured; --mamba q4, with or without a q4 embedding,
        // 1.1e-2 and 1.9e-2), so the "too coarse" failure has no small fixture to show it now.
        let coarse = dir.appendingPathComponent("q4.molt").path
        #expect(try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", coarse, "--no-verify", "--method", "search"]).status == 0)
        let agreeing = try MoltBinary.run(["verify", coarse])
        #expect(agreeing.status == 0, "\(agreeing.stderr)")
        #expect(agreeing.stderr.contains("molt: prefill vs decode over 128 positions: relative L2 "))
        #expect(agreeing.stderr.contains(" (limit 5e-02): PASSED\n"))
    }
}

/// Writes `path`'s tensors (each through `change`) and header to a new file at `output`.
private func rewrite(_ path: String, to output: String, _ change: (String, Tensor) throws -> Tensor) throws {
    let file = try MoltFile(path: path)
    let writer = try MoltWriter(sink: FileDescriptorSink(creating: output))
    for entry in file.header.tensors {
        try writer.append(entry.name, try change(entry.name, file.dequantized(entry.name)), as: entry.type)
    }
    let header = file.header
    try writer.finish(MoltHeaderInfo(
        tool: header.tool, model: header.model, quantization: header.quantization, provenance: header.provenance,
        parity: header.parity, metadata: header.metadata))
}
