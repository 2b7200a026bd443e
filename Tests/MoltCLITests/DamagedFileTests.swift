import Foundation
import MoltCore
import MoltFormat
import Testing

private let trained = MoltBinary.repository.appendingPathComponent("Fixtures/trained").path

private func hex(_ value: UInt32) -> String { "0x" + String(format: "%08x", value) }

@Test func aFlippedBitInTensorDataFailsEveryCommandThatUsesTheFile() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("m.molt").path
        let convert = try MoltBinary.run([
            "convert", trained, "-o", out, "--tokenizer", trained + "/tokenizer.json", "--method", "search", "--no-verify",
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        // One bit of one expert's weights, as a bad disk or a bad copy would flip it.
        let name = "decoder.layers.7.mixer.local_experts.5.linear_fc2.weight"
        let entry = try #require(try MoltFile(path: out).entry(name))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        bytes[entry.offset + 100] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: out))
        let computed = bytes.withUnsafeBytes { CRC32.of(UnsafeRawBufferPointer(rebasing: $0[entry.offset..<entry.offset + entry.length])) }
        let error = "molt: error: \(out): damaged: checksum mismatch: tensor '\(name)' at byte \(entry.offset): "
            + "crc32 \(hex(computed)), header says \(hex(entry.crc32)); copy or convert the file again\n"

        let generate = try MoltBinary.run(["generate", out, "--tokens", "1,2,3", "-n", "4"])
        #expect(generate.status == 2)
        #expect(generate.stderr == error)
        #expect(generate.stdout == "")

        let run = try MoltBinary.run(["run", out, "-p", "def f(", "-n", "4", "--temperature", "0"])
        #expect(run.status == 2)
        #expect(run.stderr == error)
        #expect(run.stdout == "", "nothing is printed before the check")

        let npy = dir.appendingPathComponent("l.npy").path
        let logits = try MoltBinary.run(["logits", out, "--tokens", "1,2,3", "-o", npy])
        #expect(logits.status == 2)
        #expect(logits.stderr == error)
        #expect(!FileManager.default.fileExists(atPath: npy))

        let perplexity = try MoltBinary.run(["perplexity", out, "--text", trained + "/calibration.txt", "--context", "64", "--chunks", "2"])
        #expect(perplexity.status == 2)
        #expect(perplexity.stderr.hasSuffix(error))
        #expect(perplexity.stdout == "")

        let inspect = try MoltBinary.run(["inspect", out])
        #expect(inspect.status == 2)
        #expect(inspect.stdout.contains("\nchecksums:  MISMATCH: the file is damaged (below)\n"))
        #expect(inspect.stderr == error)
        let header = try MoltBinary.run(["inspect", out, "--no-check", "--json"])
        #expect(header.status == 0)
        #expect(header.stdout.contains("\"checksums\": \"not checked\""))

        let verify = try MoltBinary.run(["verify", out])
        #expect(verify.status == 2)
        #expect(verify.stderr == error)

        // The escape hatch runs the file as it is.
        let unchecked = try MoltBinary.run(["generate", out, "--tokens", "1,2,3", "-n", "4", "--no-check"])
        #expect(unchecked.status == 0, "\(unchecked.stderr)")
        #expect(unchecked.stderr == "")
    }
}

@Test func anIntactFileSaysItsChecksumsMatch() throws {
    try MoltBinary.withScratch { dir in
        let out = dir.appendingPathComponent("m.molt").path
        #expect(try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", out, "--no-verify"]).status == 0)
        let inspect = try MoltBinary.run(["inspect", out])
        #expect(inspect.status == 0)
        let count = try MoltFile(path: out).header.tensors.count
        #expect(inspect.stdout.contains("\nchecksums:  all \(count) match\n"))
        let generate = try MoltBinary.run(["generate", out, "--tokens", "1,2,3", "-n", "2"])
        #expect(generate.status == 0)
        #expect(generate.stderr == "")
    }
}
