import Foundation
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltRuntime
import Testing

private let lossless = ["--experts", "f32", "--mamba", "f32", "--embedding", "f32"]

@Test func losslessConversionRoundTripsByteForByte() throws {
    try MoltBinary.withScratch { dir in
        for (fixture, recipe) in [("a-zip-bare", lossless), ("a-bf16", ["--experts", "bf16", "--mamba", "bf16", "--embedding", "bf16", "--others", "bf16"])] {
            let molt = dir.appendingPathComponent("\(fixture).molt").path
            let exported = dir.appendingPathComponent("\(fixture).safetensors").path
            let convert = try MoltBinary.run(["convert", MoltBinary.fixture(fixture), "-o", molt] + recipe)
            #expect(convert.status == 0, "\(convert.stderr)")
            #expect(convert.stderr.contains("bit-identical"))
            #expect(try MoltBinary.run(["export", molt, "-o", exported]).status == 0)
            let source = try Checkpoint.open(MoltBinary.fixture(fixture)), copy = try Checkpoint.open(exported)
            for (name, tensor) in source.tensors.entries {
                let back = try #require(copy.tensors[name])
                #expect(back.dtype == tensor.dtype, "\(name)")
                #expect(back.sha256() == tensor.sha256(), "\(fixture): \(name) changed")
            }
            // The runtime gives the same logits, bit for bit, from the source and the .molt.
            let a = dir.appendingPathComponent("a.npy").path, b = dir.appendingPathComponent("b.npy").path
            #expect(try MoltBinary.run(["logits", MoltBinary.fixture(fixture), "--tokens", "3,1,4,1,5,9", "-o", a, "--force"]).status == 0)
            #expect(try MoltBinary.run(["logits", molt, "--tokens", "3,1,4,1,5,9", "-o", b, "--force"]).status == 0)
            #expect(try Npy.read(path: a).floatValues() == Npy.read(path: b).floatValues())
        }
    }
}

@Test func damagedConversionFailsClosedAndNamesTheLayer() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("damaged.molt").path
        let report = dir.appendingPathComponent("report.json").path
        let result = try MoltBinary.run([
            "convert", MoltBinary.fixture("b-zip-megatron"), "-o", out, "--experts", "q8", "--report", report,
            "--test-perturb", "decoder.layers.4.mixer.local_experts.1.linear_fc2.weight",
        ])
        #expect(result.status == 3)
        #expect(result.stderr.contains("parity: FAILED"))
        #expect(result.stderr.contains("error rises most at layer 4"))
        #expect(!FileManager.default.fileExists(atPath: out))
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        #expect(json["passed"] as? Bool == false)
        #expect((json["largest_jump"] as? [String: Any])?["layer"] as? Int == 4)
        // Only the report remains: no temporary file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.json"])

        let kept = dir.appendingPathComponent("kept.molt").path
        let keep = try MoltBinary.run([
            "convert", MoltBinary.fixture("b-zip-megatron"), "-o", out, "--experts", "q8", "--keep-failed", kept,
            "--test-perturb", "decoder.layers.4.mixer.local_experts.1.linear_fc2.weight",
        ])
        #expect(keep.status == 3)
        #expect(!FileManager.default.fileExists(atPath: out))
        let file = try MoltFile(path: kept)
        #expect(file.header.parity["passed"] == .bool(false))
    }
}

@Test func quantizedConversionRecordsItsParityReport() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("q8.molt").path
        let result = try MoltBinary.run(["convert", MoltBinary.fixture("b-zip-megatron"), "-o", out, "--experts", "q8"])
        #expect(result.status == 0, "\(result.stderr)")
        let file = try MoltFile(path: out)
        #expect(file.header.parity["passed"] == .bool(true))
        #expect(file.header.provenance.sources.first?.name == "pytorch_model.bin")
        let inspect = try MoltBinary.run(["inspect", out, "--json"])
        let json = try #require(JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        let expert = try #require(tensors.first { ($0["name"] as? String)?.hasSuffix("local_experts.0.linear_fc1.weight") == true })
        #expect(expert["type"] as? String == "q8")
        #expect((expert["sqnr_db"] as? Double ?? 0) > 30)
    }
}

@Test func verifyCatchesAFlippedByteAndASwappedSource() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("m.molt").path
        #expect(try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", out] + lossless).status == 0)
        #expect(try MoltBinary.run(["verify", out]).status == 0)
        let against = try MoltBinary.run(["verify", out, "--against", MoltBinary.fixture("a-zip-bare")])
        #expect(against.status == 0, "\(against.stderr)")
        let swapped = try MoltBinary.run(["verify", out, "--against", MoltBinary.fixture("a-zip-megatron")])
        #expect(swapped.status == 2)
        #expect(swapped.stderr.contains("is not the file"))

        let file = try MoltFile(path: out)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
        for entry in file.header.tensors.filter({ $0.length > 0 }).prefix(8) {
            var damaged = bytes
            damaged[entry.offset + entry.length / 2] ^= 0x40
            let path = dir.appendingPathComponent("flipped.molt")
            try Data(damaged).write(to: path)
            let result = try MoltBinary.run(["verify", path.path])
            #expect(result.status == 2, "\(entry.name)")
            #expect(result.stderr.contains(entry.name), "\(result.stderr)")
        }
        bytes.removeAll()
    }
}
