import Foundation
import MoltCheckpoint
import MoltCore
import MoltTestSupport
import Testing

/// Issue 13: shard indexes go through the strict JSON parser, like every other JSON Molt reads.
@Suite struct ShardIndexTests {
    /// A copy of the sharded fixture whose index text is `edit`ed.
    private func sharded(_ edit: (String) -> String) throws -> (ScratchDirectory, String) {
        let scratch = try ScratchDirectory()
        let source = FixturePaths.checkpoints.appendingPathComponent("a-safetensors-sharded")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(name).path, toPath: scratch.file(name))
        }
        let index = scratch.file("model.safetensors.index.json")
        let text = try String(contentsOfFile: index, encoding: .utf8)
        try edit(text).write(toFile: index, atomically: false, encoding: .utf8)
        return (scratch, index)
    }

    @Test func unchangedIndexReads() throws {
        let (scratch, index) = try sharded { $0 }
        let checkpoint = try Checkpoint.open(index)
        #expect(checkpoint.files.count == 2)
        withExtendedLifetime(scratch) {}
    }

    @Test func duplicateTensorInTheIndexIsRefusedWithItsOffset() throws {
        // JSONSerialization kept whichever shard came last; now the second mention is an error.
        let line = #""decoder.final_layernorm.bias": "model-00002-of-00002.safetensors","#
        let (scratch, index) = try sharded { $0.replacingOccurrences(of: line, with: line + line) }
        let text = try String(contentsOfFile: index, encoding: .utf8)
        let offset = text.utf8.count - text.components(separatedBy: line).dropFirst().joined(separator: line).utf8.count
        let error = #expect(throws: MoltError.self) { try Checkpoint.open(scratch.path) }
        #expect(error?.message == "\(index): byte \(offset): key 'decoder.final_layernorm.bias' appears twice")
    }

    @Test func namesWithControlCharactersAreQuotedOnOneLine() throws {
        let (scratch, index) = try sharded {
            $0.replacingOccurrences(
                of: #""decoder.final_layernorm.bias": "model-00002-of-00002.safetensors""#, with: #""evil\u001b[2J\n": "../x""#)
        }
        let error = #expect(throws: MoltError.self) { try Checkpoint.open(scratch.path) }
        #expect(error?.message == "\(index): weight_map entry 'evil\\u{1b}[2J\\n' must name a file beside the index")
    }
}
