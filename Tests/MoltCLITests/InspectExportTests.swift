import Foundation
import MoltCheckpoint
import MoltCore
import Testing

@Test func inspectJSONHasTheDocumentedShape() throws {
    let result = try MoltBinary.run(["inspect", MoltBinary.fixture("a-zip-megatron"), "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["format"] as? String == "torch-zip")
    let config = try #require(object["config"] as? [String: Any])
    #expect(config["mamba_moe_layers"] as? [String] == ["r", "8", "r", "8"])
    let tensors = try #require(object["tensors"] as? [[String: Any]])
    #expect(tensors.count == 61)
    #expect(tensors[0]["name"] as? String == "embedding.word_embeddings.weight")
    #expect(tensors[0]["dtype"] as? String == "f32")
    #expect(tensors[0]["shape"] as? [Int] == [256, 32])
    #expect(tensors[0]["bytes"] as? Int == 256 * 32 * 4)
    #expect(try #require(object["warnings"] as? [String]).isEmpty)
    let ignored = try #require(object["ignored"] as? [String])
    #expect(ignored.contains { $0.contains("argparse.Namespace") })
}

@Test func inspectWithoutConfigPrintsNull() throws {
    let result = try MoltBinary.run(["inspect", MoltBinary.fixture("special/views.bin"), "--json"])
    #expect(result.status == 0)
    let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["config"] is NSNull)
}

@Test func exitCodesSeparateUsageFromBadInput() throws {
    let usage = try MoltBinary.run(["inspect"])
    #expect(usage.status == 1)
    let unknown = try MoltBinary.run(["frobnicate"])
    #expect(unknown.status == 1)
    let bad = try MoltBinary.run(["inspect", MoltBinary.repository.appendingPathComponent("Fixtures/bad/os_system.bin").path])
    #expect(bad.status == 2)
    #expect(bad.stderr.hasPrefix("molt: error: "))
    #expect(bad.stderr.contains("os_system.bin"))
    #expect(bad.stderr.split(separator: "\n").count == 1)
    let missing = try MoltBinary.run(["inspect", "/nonexistent/model"])
    #expect(missing.status == 2)
    let help = try MoltBinary.run(["export", "--help"])
    #expect(help.status == 0)
    #expect(help.stdout.contains("--dtype"))
}

@Test func exportWritesEveryTensorAndRefusesToOverwrite() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("model.safetensors").path
        let first = try MoltBinary.run(["export", MoltBinary.fixture("a-legacy"), "-o", out])
        #expect(first.status == 0, "\(first.stderr)")
        let source = try Checkpoint.open(MoltBinary.fixture("a-legacy"))
        let exported = try Checkpoint.open(out)
        #expect(exported.tensors.names == source.tensors.names)
        for (name, tensor) in source.tensors.entries {
            #expect(exported.tensors[name]?.sha256() == tensor.sha256(), "\(name)")
        }
        let again = try MoltBinary.run(["export", MoltBinary.fixture("a-legacy"), "-o", out])
        #expect(again.status == 1)
        #expect(again.stderr.contains("--force"))
        #expect(try MoltBinary.run(["export", MoltBinary.fixture("a-legacy"), "-o", out, "--force"]).status == 0)
        // Nothing but the output and its config remain: no temporary files.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["config.json", "model.safetensors"])
    }
}

@Test func exportConvertsFloatsAndMakesViewsContiguous() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("views.safetensors").path
        let result = try MoltBinary.run(["export", MoltBinary.fixture("special/views.bin"), "-o", out, "--dtype", "bf16"])
        #expect(result.status == 0, "\(result.stderr)")
        let source = try Checkpoint.open(MoltBinary.fixture("special/views.bin"))
        let exported = try Checkpoint.open(out)
        for (name, tensor) in source.tensors.entries {
            let copy = try #require(exported.tensors[name])
            #expect(copy.shape == tensor.shape)
            if tensor.dtype.isFloatingPoint {
                #expect(copy.dtype == .bf16, "\(name)")
                #expect(try copy.floatValues() == tensor.converted(to: .bf16).floatValues(), "\(name)")
            } else {
                #expect(copy.dtype == tensor.dtype)
                #expect(copy.sha256() == tensor.sha256(), "\(name)")
            }
        }
    }
}

@Test func failedExportLeavesNothingBehind() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("bad.safetensors").path
        let result = try MoltBinary.run(
            ["export", MoltBinary.repository.appendingPathComponent("Fixtures/bad/record_size.bin").path, "-o", out])
        #expect(result.status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

@Test func exportRefusesACorruptStorageAndLeavesNothing() throws {
    try MoltBinary.withScratch { dir in
        // Flip one byte inside the embedding record (larger than the always-checked size is not
        // needed: small records are checked at open, large ones while exporting).
        let source = MoltBinary.fixture("a-zip-bare/pytorch_model.bin")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: source)))
        let archive = try ZipArchive(file: MappedFile(path: source))
        let record = try #require(archive.entries.first { $0.name.hasSuffix("/data/0") })
        bytes[record.dataOffset + 5] ^= 0xFF
        let corrupt = dir.appendingPathComponent("corrupt.bin")
        try Data(bytes).write(to: corrupt)
        let out = dir.appendingPathComponent("out.safetensors").path
        let result = try MoltBinary.run(["export", corrupt.path, "-o", out])
        #expect(result.status == 2)
        #expect(result.stderr.contains("CRC-32"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["corrupt.bin"])
    }
}
