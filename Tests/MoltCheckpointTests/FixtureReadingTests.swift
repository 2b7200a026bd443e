import Foundation
import MoltCheckpoint
import MoltCore
import Testing

/// One checkpoint fixture and what PyTorch recorded about it (Scripts/make_fixtures.py).
struct Fixture: CustomTestStringConvertible, Sendable {
    struct Expected: Decodable, Sendable {
        struct Entry: Decodable, Sendable {
            var name: String
            var dtype: String
            var shape: [Int]
            var sha256: String
        }
        var format: String
        var config: Bool?
        var tensors: [Entry]
    }

    let path: String
    let expected: Expected
    var testDescription: String { (path as NSString).lastPathComponent }

    init(path: String, expectedFile: URL) throws {
        self.path = path
        self.expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: expectedFile))
    }

    /// Model directories and the special single files.
    static var all: [Fixture] {
        let fm = FileManager.default
        let root = FixturePaths.checkpoints
        var out: [Fixture] = []
        for name in (try? fm.contentsOfDirectory(atPath: root.path))?.sorted() ?? [] where name != "special" {
            let dir = root.appendingPathComponent(name)
            if let f = try? Fixture(path: dir.path, expectedFile: dir.appendingPathComponent("expected.json")) {
                out.append(f)
            }
        }
        let special = root.appendingPathComponent("special")
        for name in (try? fm.contentsOfDirectory(atPath: special.path))?.sorted() ?? [] where name.hasSuffix(".expected.json") {
            let weights = special.appendingPathComponent(String(name.dropLast(".expected.json".count)))
            let candidates = [".bin", ".safetensors"].map { weights.path + $0 }
            if let file = candidates.first(where: { fm.fileExists(atPath: $0) }),
                let f = try? Fixture(path: file, expectedFile: special.appendingPathComponent(name)) {
                out.append(f)
            }
        }
        return out
    }
}

@Test func fixturesArePresent() {
    // Guards the parameterised tests below against silently running over nothing.
    #expect(Fixture.all.count >= 17)
}

@Test(arguments: Fixture.all)
func everyTensorMatchesPyTorchDigest(_ fixture: Fixture) throws {
    let checkpoint = try Checkpoint.open(fixture.path)
    #expect(checkpoint.format.rawValue == fixture.expected.format)
    #expect(checkpoint.tensors.names == fixture.expected.tensors.map(\.name))
    for entry in fixture.expected.tensors {
        let tensor = try #require(checkpoint.tensors[entry.name], "\(entry.name) missing")
        #expect(tensor.dtype.rawValue == entry.dtype, "\(entry.name)")
        #expect(tensor.shape == entry.shape, "\(entry.name)")
        #expect(tensor.sha256() == entry.sha256, "\(entry.name) values differ from PyTorch's")
    }
    if fixture.expected.config == true {
        #expect(checkpoint.config != nil)
        #expect(checkpoint.shapeProblems.isEmpty, "\(checkpoint.shapeProblems)")
    }
}

@Test func tiedWeightsShareOneStorage() throws {
    let checkpoint = try Checkpoint.open(FixturePaths.checkpoints.appendingPathComponent("special/tied.bin").path)
    let a = try #require(checkpoint.tensors["a"]), b = try #require(checkpoint.tensors["b"])
    let c = try #require(checkpoint.tensors["c"])
    #expect(a.storage === b.storage)
    #expect(a.storage === c.storage)
}

@Test func contiguousTorchTensorsAreReadInPlace() throws {
    let checkpoint = try Checkpoint.open(FixturePaths.checkpoints.appendingPathComponent("a-zip-bare").path)
    for (name, tensor) in checkpoint.tensors.entries {
        #expect(tensor.storage.mappedFile != nil, "\(name) was copied")
    }
}

/// Issue 13: Megatron-LM nests its modules (`model.language_model.embedding.word_embeddings
/// .weight`); such a file "held no tensors". Read nested, it must give exactly model A.
@Test func nestedMegatronStateDictReadsAsTheFlatModel() throws {
    let nested = try Checkpoint.open(FixturePaths.checkpoints.appendingPathComponent("a-zip-megatron-nested").path)
    let flat = try Checkpoint.open(FixturePaths.checkpoints.appendingPathComponent("a-zip-megatron").path)
    #expect(nested.tensors.names == flat.tensors.names)
    for name in flat.tensors.names {
        #expect(try nested.tensors[name]!.sha256() == flat.tensors[name]!.sha256(), "\(name)")
    }
    #expect(nested.shapeProblems.isEmpty)
}

/// Nested dicts are flattened at most 32 deep: deeper (or a dict containing itself) is an
/// error, not a recursion as deep as the pickle likes.
@Test func stateDictNestingIsBounded() throws {
    func nested(_ depth: Int) -> [UInt8] {
        // EMPTY_DICT, then depth x (SHORT_BINUNICODE "a", EMPTY_DICT), then depth SETITEMs.
        var bytes: [UInt8] = [0x80, 0x02, 0x7D]
        for _ in 0..<depth { bytes += [0x8C, 0x01, 0x61, 0x7D] }
        bytes += [UInt8](repeating: 0x73, count: depth) + [0x2E]
        return bytes
    }
    var warnings: [String] = []
    let shallow = try unpickle(nested(31))
    let error = #expect(throws: MoltError.self) { try StateDict.extract(from: shallow, file: "f", warnings: &warnings) }
    #expect(error?.message == "f: holds no tensors")
    let deep = try unpickle(nested(32))
    let deepError = #expect(throws: MoltError.self) { try StateDict.extract(from: deep, file: "f", warnings: &warnings) }
    let path = Array(repeating: "a", count: 32).joined(separator: ".")
    #expect(deepError?.message == "f: state dict nested deeper than 32 dicts at '\(path)'")
}
