import Foundation
import MoltCore
import MoltQuant
import MoltTestSupport
import Testing

@testable import MoltFormat

@Test func plainTensorsRoundTripBitExact() throws {
    let dir = try ScratchDirectory()
    let path = dir.file("plain.molt")
    let source = values(3 * 70)
    let sources = try [DType.f32, .f16, .bf16].map { try tensor(source, [3, 70], as: $0) }
    let writer = try MoltWriter(sink: FileDescriptorSink(creating: path))
    for (i, t) in sources.enumerated() { try writer.append("same.\(i)", t, as: MoltTensorType(rawValue: t.dtype.rawValue)!) }
    // A conversion on the way in: f32 source stored as bf16 and f16.
    try writer.append("to.bf16", sources[0], as: .bf16)
    try writer.append("to.f16", sources[0], as: .f16)
    try writer.finish(headerInfo())

    let file = try MoltFile(path: path)
    for (i, t) in sources.enumerated() {
        let read = try file.tensor("same.\(i)")
        #expect(read.dtype == t.dtype && read.shape == [3, 70])
        #expect(read.withContiguousBytes { Array($0) } == t.withContiguousBytes { Array($0) })
        #expect(read.storage.mappedFile != nil, "plain tensors are views of the mapping")
    }
    #expect(try file.tensor("to.bf16").withContiguousBytes { Array($0) } == sources[2].withContiguousBytes { Array($0) })
    #expect(try file.tensor("to.f16").withContiguousBytes { Array($0) } == sources[1].withContiguousBytes { Array($0) })
    #expect(try file.dequantized("same.0").floatValues() == source)
    try file.verifyChecksums()
    #expect(file.config == tinyConfig)
    #expect(file.header.parity == .null)
}

@Test(arguments: [MoltTensorType.q8, .q4], [false, true])
func quantizedTensorsRoundTrip(type: MoltTensorType, compress: Bool) throws {
    let dir = try ScratchDirectory()
    let path = dir.file("q.molt")
    let rows = 40, columns = 100  // ragged: 100 % 32 != 0
    let source = values(rows * columns, seed: 9)
    let writer = try MoltWriter(sink: FileDescriptorSink(creating: path))
    let written = try writer.append("w", tensor(source, [rows, columns]), as: type, groupSize: 32, compress: compress)
    // A bf16 source goes through the same quantizer after widening.
    try writer.append("w.from.bf16", tensor(source, [rows, columns], as: .bf16), as: type)
    try writer.finish(headerInfo())

    let expected = try source.withUnsafeBufferPointer {
        try Quantizer.quantize($0, rows: rows, columns: columns, type: type.quantType!, groupSize: 32)
    }
    let file = try MoltFile(path: path)
    let entry = try #require(file.entry("w"))
    #expect(entry == written)
    #expect(entry.paddedColumns == 28 && entry.groupSize == 32)
    #expect((entry.compression != nil) == compress)
    let matrix = try file.quantized("w")
    #expect(matrix.storage.bytes.elementsEqual(expected.matrix.storage.bytes))
    #expect(matrix.storage.mappedFile == nil || !compress)
    let dequantized = try file.dequantized("w")
    #expect(dequantized.shape == [rows, columns] && dequantized.dtype == .f32)
    #expect(try dequantized.floatValues() == Reconstruction.dequantize(expected.matrix))
    let report = try #require(entry.quantError)
    #expect(abs(report.relRMS - expected.error.relativeRMS) < 1e-12 && report.maxAbs == Double(expected.error.maxAbs))
    #expect(report.relRMS < (type == .q8 ? 0.01 : 0.12))
    #expect(throws: MoltError.self) { try file.tensor("w") }
    try file.verifyChecksums()
}

@Test func compressedEntriesRoundTrip() throws {
    let dir = try ScratchDirectory()
    let path = dir.file("sample.molt")
    try writeSample(path)
    let file = try MoltFile(path: path)
    #expect(file.flags & 1 == 1)
    let norm = try file.tensor(TensorNames.norm(0))
    #expect(try norm.floatValues() == values(64, seed: 2))
    #expect(norm.storage.mappedFile == nil, "compressed tensors are inflated into owned memory")
    #expect(try #require(file.entry(TensorNames.norm(0))).compression?.uncompressedLength == 256)
    let tokenizer = try file.blob("tokenizer.json")
    #expect(String(decoding: tokenizer.bytes, as: UTF8.self).contains("not a real tokenizer"))
    #expect(file.header.tokenizer == "tokenizer.json")
    #expect(try file.tensor(TensorNames.embedding).storage.mappedFile != nil)
    try file.verifyChecksums()
}

@Test func alignmentAndExpertRegions() throws {
    let dir = try ScratchDirectory()
    let path = dir.file("sample.molt")
    let header = try writeSample(path)
    #expect(header.tensors.allSatisfy { $0.offset % 64 == 0 })
    #expect(header.blobs.allSatisfy { $0.offset % 64 == 0 })
    #expect(header.expertRegions.count == 2)
    for region in header.expertRegions {
        #expect(region.layer == 1 && region.offset % 4096 == 0 && region.length % 4096 == 0)
        let members = header.tensors.filter { $0.name.contains(".local_experts.\(region.expert).") }
        #expect(members.count == 4)
        #expect(members.allSatisfy { $0.offset >= region.offset && $0.offset + $0.length <= region.offset + region.length })
        // The region starts with the expert's first tensor: nothing else shares its first page.
        #expect(members.map(\.offset).min() == region.offset)
    }
    // Nothing else inside any region.
    let others = header.tensors.filter { !$0.name.contains(".local_experts.") }
    for region in header.expertRegions {
        #expect(others.allSatisfy { $0.offset + $0.length <= region.offset || $0.offset >= region.offset + region.length })
    }
    _ = try MoltFile(path: path)
}

@Test func expertTensorsMustBeConsecutive() throws {
    let dir = try ScratchDirectory()
    let writer = try MoltWriter(sink: FileDescriptorSink(creating: dir.file("x.molt")))
    try writer.append(TensorNames.expert(1, 0, "linear_fc1.weight"), tensor(values(64), [2, 32]), as: .f32)
    try writer.append(TensorNames.expert(1, 1, "linear_fc1.weight"), tensor(values(64), [2, 32]), as: .f32)
    #expect(throws: MoltError.self) {
        try writer.append(TensorNames.expert(1, 0, "linear_fc2.weight"), tensor(values(64), [2, 32]), as: .f32)
    }
    // After a failure the writer refuses to go on rather than write a half-valid file.
    #expect(throws: MoltError.self) { try writer.finish(headerInfo()) }
}

@Test func writerRefusesBadRequests() throws {
    let dir = try ScratchDirectory()
    func fresh(_ name: String) throws -> MoltWriter { try MoltWriter(sink: FileDescriptorSink(creating: dir.file(name))) }
    #expect(throws: MoltError.self) { try fresh("a").append("v", tensor(values(64), [64]), as: .q8) }
    #expect(throws: MoltError.self) { try fresh("b").append("m", tensor(values(64), [2, 32]), as: .q4, groupSize: 48) }
    var nan = values(64)
    nan[3] = .nan
    #expect(throws: MoltError.self) { try fresh("c").append("m", tensor(nan, [2, 32]), as: .q8) }
    let w = try fresh("d")
    try w.append("m", tensor(values(64), [2, 32]), as: .f32)
    #expect(throws: MoltError.self) { try w.append("m", tensor(values(64), [2, 32]), as: .f32) }
    #expect(throws: MoltError.self) { try fresh("e").finish(headerInfo(tokenizer: "missing")) }
    #expect(throws: MoltError.self) { try FileDescriptorSink(creating: dir.file("d")) }
}

@Test func trailerReplacement() throws {
    let dir = try ScratchDirectory()
    let path = dir.file("p.molt")
    let sink = try FileDescriptorSink(creating: path)
    let writer = try MoltWriter(sink: sink)
    try writer.append("w", tensor(values(64 * 64), [64, 64]), as: .q8)
    let first = try writer.finish(headerInfo())
    let before = try MoltFile(path: path)
    let dataEnd = before.headerOffset
    let dataBytes = try Array(readBytes(path)[0..<dataEnd])
    #expect(before.header.parity == .null)

    let report: JSON = .object([("top1_agreement", .double(0.987)), ("tokens", .int(512)), ("per_layer", .array([.int(1), .null]))])
    try writer.replaceTrailer(parity: report)
    let after = try MoltFile(path: path)
    #expect(after.header.parity == report)
    #expect(after.headerOffset == dataEnd)
    #expect(try Array(readBytes(path)[0..<dataEnd]) == dataBytes)
    var expected = first
    expected.parity = report
    #expect(after.header == expected)
    // Again, shorter, and through the path-based variant.
    try MoltWriter.replaceTrailer(ofFileAt: path, parity: .string("ok"), metadata: ["k": .bool(true)])
    let last = try MoltFile(path: path)
    #expect(last.header.parity == .string("ok") && last.header.metadata == ["k": .bool(true)])
    try last.verifyChecksums()
}

@Test func tensorsMappedFromFilesAreCopiedWithTheirChecksums() throws {
    let dir = try ScratchDirectory()
    let source = values(64 * 40, seed: 3)
    let raw = source.withUnsafeBytes { Array($0) }
    try writeBytes(raw, dir.file("source.bin"))
    let file = try MappedFile(path: dir.file("source.bin"))
    let half = raw.count / 2
    let whole = try Tensor(storage: Storage(file: file, range: 0..<raw.count), dtype: .f32, shape: [64, 40])
    // A view of half the storage, and a storage with its format's CRC-32 (as a zip entry has).
    let part = try Tensor(storage: Storage(file: file, range: 0..<raw.count), dtype: .f32, shape: [32, 40])
    let recorded = raw[half...].withUnsafeBytes { CRC32.of($0) }
    let entry = try Tensor(storage: Storage(file: file, range: half..<raw.count, recordedCRC32: recorded), dtype: .f32, shape: [32, 40])
    let misrecorded = try Tensor(
        storage: Storage(file: file, range: half..<raw.count, recordedCRC32: recorded ^ 1), dtype: .f32, shape: [32, 40])

    func write(_ tensors: [(String, Tensor)], to name: String) throws -> MoltFile {
        let writer = try MoltWriter(sink: FileDescriptorSink(creating: dir.file(name)))
        for (name, tensor) in tensors { try writer.append(name, tensor, as: .f32) }
        try writer.finish(headerInfo())
        return try MoltFile(path: dir.file(name))
    }
    let good = try write([("whole", whole), ("part", part), ("entry", entry)], to: "good.molt")
    try good.verifyChecksums()
    #expect(try good.tensor("whole").floatValues() == source)
    #expect(try good.tensor("part").floatValues() == Array(source[0..<32 * 40]))
    #expect(good.entry("entry")?.crc32 == recorded)
    // The recorded CRC-32 is taken as given: a source whose bytes do not match it yields a file
    // that fails its own check, so the damage is caught downstream, never hidden.
    let bad = try write([("entry", misrecorded)], to: "bad.molt")
    #expect(throws: MoltError.self) { try bad.verifyChecksums() }
}
