import Foundation
import MoltCheckpoint
import MoltCore
import MoltTestSupport
import Testing

/// A safetensors file from a header text and a data section.
private func safetensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.appendLE(UInt64(header.utf8.count))
    return bytes + Array(header.utf8) + data
}

private func read(_ bytes: [UInt8]) throws -> (tensors: TensorTable, metadata: [String: String]) {
    try Safetensors.read(try ScratchDirectory().map(bytes, as: "model.safetensors"))
}

private func expectError(
    _ bytes: [UInt8], _ keywords: String..., kind: MoltError.Kind = .badInput,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = expectMoltError(keywords, kind: kind, ignoringCase: true, sourceLocation: sourceLocation) { try read(bytes) }
    if let error { #expect(error.message.contains("model.safetensors"), "\(error.message)", sourceLocation: sourceLocation) }
}

private func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
}

private func entry(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
    entry(name, "F32", shape, begin, end)
}

private func floatBytes(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

@Suite(.serialized) struct SafetensorsWriterTests {
    private static let declared: [SafetensorsWriter.Entry] = [
        .init(name: "layers.0.weight", dtype: .f32, shape: [2, 3]),
        .init(name: "odd \"name\"\n\u{1}é", dtype: .bf16, shape: [3]),
        .init(name: "empty", dtype: .i64, shape: [0, 4]),
        .init(name: "scalar", dtype: .u8, shape: []),
    ]

    private static func writeSample(_ writer: SafetensorsWriter) throws {
        try writer.append(Tensor(storage: floatBytes([1, 2, 3, 4, 5, 6]).withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: [2, 3]))
        try [UInt8]([1, 2, 3, 4, 5, 6]).withUnsafeBytes { try writer.append($0) }
        try [UInt8]().withUnsafeBytes { try writer.append($0) }
        try [UInt8]([200]).withUnsafeBytes { try writer.append($0) }
    }

    @Test func safetensorsRoundTrip() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("out.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: false, tensors: Self.declared, metadata: ["format": "pt", "b": "\"x\""])
        try Self.writeSample(writer)
        #expect(scratch.contents.count == 1 && scratch.contents[0].hasPrefix(".out.safetensors.molt-tmp-"))
        try writer.finish()
        #expect(scratch.contents == ["out.safetensors"])

        let file = try MappedFile(path: path)
        let headerLength = file.bytes.loadUnaligned(as: UInt64.self)
        #expect(headerLength % 8 == 0)
        let header = String(decoding: file.bytes[8..<8 + Int(headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{\"__metadata__\":{\"b\":\"\\\"x\\\"\",\"format\":\"pt\"},\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"))

        let (tensors, metadata) = try Safetensors.read(file)
        #expect(metadata == ["format": "pt", "b": "\"x\""])
        #expect(tensors.names == Self.declared.map(\.name))
        let weight = try #require(tensors["layers.0.weight"])
        #expect(try weight.floatValues() == [1, 2, 3, 4, 5, 6])
        #expect(weight.storage.mappedFile === file)
        #expect(copiedBytes(of: try #require(tensors[Self.declared[1].name]).storage) == [1, 2, 3, 4, 5, 6])
        #expect(try #require(tensors["empty"]).shape == [0, 4])
        let scalar = try #require(tensors["scalar"])
        #expect(scalar.shape == [] && copiedBytes(of: scalar.storage) == [200])
    }

    @Test func safetensorsToAFileDescriptor() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("fd.safetensors")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let writer = try SafetensorsWriter(fileDescriptor: handle.fileDescriptor, name: "<stdout>", tensors: Self.declared)
        try Self.writeSample(writer)
        try writer.finish()
        try handle.close()
        let (tensors, metadata) = try Safetensors.read(MappedFile(path: path))
        #expect(metadata.isEmpty)
        #expect(tensors.count == 4)
    }

    @Test func safetensorsWriterFailuresLeaveNoFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("out.safetensors")

        let wrongSize = try SafetensorsWriter(path: path, overwrite: false, tensors: Self.declared)
        let error = #expect(throws: MoltError.self) { try [UInt8](repeating: 0, count: 23).withUnsafeBytes { try wrongSize.append($0) } }
        #expect(error?.message.contains("layers.0.weight") == true)
        #expect(scratch.contents.isEmpty)
        #expect(throws: MoltError.self) { try wrongSize.finish() }

        let wrongShape = try SafetensorsWriter(path: path, overwrite: false, tensors: Self.declared)
        #expect(throws: MoltError.self) {
            try wrongShape.append(Tensor(storage: floatBytes([1, 2, 3, 4, 5, 6]).withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: [3, 2]))
        }
        #expect(scratch.contents.isEmpty)

        let early = try SafetensorsWriter(path: path, overwrite: false, tensors: Self.declared)
        #expect(throws: MoltError.self) { try early.finish() }
        #expect(scratch.contents.isEmpty)

        do {
            let dropped = try SafetensorsWriter(path: path, overwrite: false, tensors: Self.declared)
            try [UInt8](repeating: 0, count: 24).withUnsafeBytes { try dropped.append($0) }
        }
        #expect(scratch.contents.isEmpty)

        #expect(throws: MoltError.self) {
            try SafetensorsWriter(path: path, overwrite: false, tensors: Self.declared + [Self.declared[0]])
        }
        #expect(throws: MoltError.self) {
            try SafetensorsWriter(path: path, overwrite: false, tensors: [.init(name: "__metadata__", dtype: .f32, shape: [1])])
        }
        #expect(throws: MoltError.self) {
            try SafetensorsWriter(path: path, overwrite: false, tensors: [.init(name: "big", dtype: .f64, shape: [1 << 40, 1 << 30])])
        }
        #expect(scratch.contents.isEmpty)

        try Data([1]).write(to: URL(fileURLWithPath: path))
        let exists = #expect(throws: MoltError.self) { try SafetensorsWriter(path: path, overwrite: false, tensors: []) }
        #expect(exists?.kind == .usage)
        #expect(exists?.message.contains("--force") == true)
    }
}

@Suite struct SafetensorsReaderTests {
    @Test func readsAHandWrittenFile() throws {
        let header = "{" + entry("b", "I16", [2], 4, 8) + "," + entry("a", "U8", [4], 0, 4) + "}   "
        let (tensors, metadata) = try read(safetensors(header, data: [1, 2, 3, 4, 5, 0, 6, 0]))
        #expect(metadata.isEmpty)
        // Data order, not header order.
        #expect(tensors.names == ["a", "b"])
        #expect(try tensors["b"]?.floatValues() == [5, 6])
        #expect(try read(safetensors("{}")).tensors.count == 0)
    }

    @Test func headerLengthIsChecked() {
        expectError([1, 2, 3], "truncated", "header length")
        var huge: [UInt8] = []
        huge.appendLE(UInt64(100_000_001))
        expectError(huge + Array("{}".utf8), "header length")
        var past: [UInt8] = []
        past.appendLE(UInt64(10))
        expectError(past + Array("{}".utf8), "header length")
        var enormous: [UInt8] = []
        enormous.appendLE(UInt64.max)
        expectError(enormous + Array("{}".utf8), "header length")
    }

    @Test func headerMustBeUTF8JSONObject() {
        var invalidUTF8: [UInt8] = []
        invalidUTF8.appendLE(UInt64(4))
        expectError(invalidUTF8 + [0x7B, 0xFF, 0xFE, 0x7D], "UTF-8")
        expectError(safetensors("[]"), "JSON")
        expectError(safetensors("{\"a\":"), "JSON")
        expectError(safetensors("{} x"), "JSON")
        expectError(safetensors("{'a':1}"), "JSON")
        expectError(safetensors("{\"a\":01}"), "JSON")
        expectError(safetensors("{\"a\":\"\\ud800\"}"), "JSON")
        expectError(safetensors("{\"a\":\"\u{1}\"}"), "JSON")
        expectError(safetensors(String(repeating: "[", count: 100_000)), "JSON")
    }

    @Test func duplicateKeysAreRefused() {
        expectError(safetensors("{" + entry("a", [1], 0, 4) + "," + entry("a", [1], 4, 8) + "}", data: Array(repeating: 0, count: 8)), "twice", "'a'")
        expectError(safetensors("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), "twice")
        expectError(safetensors("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "twice")
        // The same key spelled with an escape is still the same key.
        expectError(safetensors("{\"__metadata__\":{\"k\":\"1\",\"\\u006b\":\"2\"}}"), "twice")
    }

    @Test func dtypesAreChecked() {
        for dtype in ["F8_E4M3", "F8_E5M2", "U16", "U32", "U64"] {
            expectError(safetensors("{" + entry("w", dtype, [1], 0, 1) + "}", data: [0]), "unsupported dtype", "'w'", dtype, kind: .unsupported)
        }
        expectError(safetensors("{" + entry("w", "Q3", [1], 0, 1) + "}", data: [0]), "dtype", "'w'")
        expectError(safetensors("{\"w\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "dtype")
    }

    @Test func entriesAreChecked() {
        let data = [UInt8](repeating: 0, count: 8)
        expectError(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data: data), "shape", "'w'")
        expectError(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", data: data), "shape")
        expectError(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", data: data), "data_offsets")
        expectError(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", data: data), "data_offsets")
        expectError(safetensors("{" + entry("w", [0], 4, 0) + "}", data: data), "data_offsets", "'w'")
        expectError(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: data), "missing data_offsets")
        expectError(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", data: data), "unknown key")
        expectError(safetensors("{\"w\":[]}"), "'w'")
        expectError(safetensors("{" + entry("w", [1 << 62, 8], 0, 8) + "}", data: data), "overflow", "'w'")
        expectError(safetensors("{" + entry("w", [1 << 61], 0, 8) + "}", data: data), "overflow", "'w'")
        expectError(safetensors("{" + entry("w", [3], 0, 8) + "}", data: data), "size", "'w'")
        expectError(safetensors("{\"__metadata__\":{\"k\":1}}"), "__metadata__")
        expectError(safetensors("{\"__metadata__\":[]}"), "__metadata__")
    }

    @Test func entriesMustTileTheData() {
        let data = [UInt8](repeating: 0, count: 12)
        expectError(safetensors("{" + entry("a", [1], 4, 8) + "," + entry("b", [1], 8, 12) + "}", data: data), "gap")
        expectError(safetensors("{" + entry("a", [1], 0, 4) + "," + entry("b", [1], 8, 12) + "}", data: data), "gap", "'b'")
        expectError(safetensors("{" + entry("a", [2], 0, 8) + "," + entry("b", [2], 4, 12) + "}", data: data), "overlap", "'a'", "'b'")
        expectError(safetensors("{" + entry("a", [1], 0, 4) + "," + entry("b", [1], 4, 8) + "}", data: data), "end")
        expectError(safetensors("{" + entry("a", [1], 0, 4) + "," + entry("b", [3], 4, 16) + "}", data: data), "end", "'b'")
        expectError(safetensors("{}", data: [0]), "end")
    }

    @Test func truncationAtEveryOffsetIsAnError() throws {
        let header = "{\"__metadata__\":{\"a\":\"b\"}," + entry("x", [2], 0, 8) + "," + entry("y", "BF16", [1], 8, 10) + "}"
        let bytes = safetensors(header, data: Array(0..<10))
        #expect(try read(bytes).tensors.count == 2)
        for length in 0..<bytes.count {
            #expect(throws: MoltError.self, "length \(length)") { try read(Array(bytes[0..<length])) }
        }
    }
}
