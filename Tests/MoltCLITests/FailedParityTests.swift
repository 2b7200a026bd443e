import Foundation
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
