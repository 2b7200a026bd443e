import Foundation
import Testing

/// A copy of fixture `name` (weights linked, config.json copied) in `dir`, with `files` added.
private func source(_ name: String, in dir: URL, adding files: [String: String] = [:], config: (String) -> String = { $0 }) throws -> String {
    let fixture = URL(fileURLWithPath: MoltBinary.fixture(name))
    let copy = dir.appendingPathComponent("Tiny-" + name)
    try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
        at: copy.appendingPathComponent("pytorch_model.bin"), withDestinationURL: fixture.appendingPathComponent("pytorch_model.bin"))
    let configText = try String(contentsOf: fixture.appendingPathComponent("config.json"), encoding: .utf8)
    try config(configText).write(to: copy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    for (file, text) in files { try text.write(to: copy.appendingPathComponent(file), atomically: true, encoding: .utf8) }
    return copy.path
}

@Test func metadataComesFromFlagsAndTheModelCardAndIsShownAndExported() throws {
    try MoltBinary.withScratch { dir in
        let card = """
            ---
            license: other
            license_name: tiny-license
            model_name: "Tiny B"
            tags:
              - mamba
            ---
            # Tiny B

            license: not front matter
            """
        let src = try source("b-zip-megatron", in: dir, adding: ["README.md": card])
        let out = dir.appendingPathComponent("b.molt").path
        let convert = try MoltBinary.run([
            "convert", src, "-o", out, "--no-verify", "--author", "Molt's tests", "--source-repository", "https://example.com/tiny",
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stderr.contains(
            "molt: metadata: name 'Tiny B' (README.md), license 'tiny-license' (README.md), author 'Molt\\'s tests' (--author), "
                + "source_repository 'https://example.com/tiny' (--source-repository)\n"))

        let inspect = try MoltBinary.run(["inspect", out])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains(
            "\nname:       'Tiny B'\nlicense:    'tiny-license'\nauthor:     'Molt\\'s tests'\nrepository: 'https://example.com/tiny'\n"))
        let json = try MoltBinary.run(["inspect", out, "--json", "--no-check"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["metadata"] as? [String: String] == [
            "name": "Tiny B", "license": "tiny-license", "author": "Molt's tests", "source_repository": "https://example.com/tiny",
        ])

        // Flags win over the card; export keeps the metadata in the safetensors header.
        let named = dir.appendingPathComponent("named.molt").path
        #expect(try MoltBinary.run(["convert", src, "-o", named, "--no-verify", "--name", "Other", "--license", "mit"]).status == 0)
        let exported = dir.appendingPathComponent("export/model.safetensors").path
        try FileManager.default.createDirectory(atPath: (exported as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(try MoltBinary.run(["export", named, "-o", exported]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: exported))
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<8 + length)) as? [String: Any])
        #expect(header["__metadata__"] as? [String: String] == ["format": "pt", "name": "Other", "license": "mit"])
    }
}

@Test func withoutACardTheNameComesFromConfigOrTheDirectory() throws {
    try MoltBinary.withScratch { dir in
        let src = try source("a-zip-bare", in: dir) { $0.replacingOccurrences(of: "{", with: "{\"_name_or_path\": \"org/tiny-a\", ", options: .anchored) }
        let out = dir.appendingPathComponent("a.molt").path
        let convert = try MoltBinary.run(["convert", src, "-o", out, "--no-verify"])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stderr.contains("molt: metadata: name 'org/tiny-a' (config.json)\n"))

        let plain = try MoltBinary.run(["convert", MoltBinary.fixture("a-zip-bare"), "-o", dir.appendingPathComponent("p.molt").path, "--no-verify"])
        #expect(plain.stderr.contains("molt: metadata: name 'a-zip-bare' (the source's directory)\n"))
    }
}
