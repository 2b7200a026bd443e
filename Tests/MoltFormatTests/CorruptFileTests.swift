import Foundation
import MoltCore
import MoltTestSupport
import Testing

@testable import MoltFormat

/// A valid sample file in a fresh directory, and its bytes.
private func sample(compressSome: Bool = true) throws -> (ScratchDirectory, String, [UInt8]) {
    let dir = try ScratchDirectory()
    let path = dir.file("sample.molt")
    try writeSample(path, compressSome: compressSome)
    return (dir, path, try readBytes(path))
}

@Test func truncatedFilesAreRefusedAtEveryLength() throws {
    let (dir, _, bytes) = try sample()
    let cut = dir.file("cut.molt")
    // Every length near both ends, and a stride through the middle.
    let lengths = Array(0..<200) + Array(stride(from: 200, to: bytes.count, by: 97)) + Array(bytes.count - 200..<bytes.count)
    for length in lengths {
        try writeBytes(Array(bytes[0..<length]), cut)
        guard let error = openError(cut) else { continue }
        #expect(error.kind == .badInput)
        #expect(error.message.contains("cut.molt"))
        if length >= 128, length < bytes.count - 64 {
            #expect(error.message.contains("truncated") || error.message.contains("no Molt footer"), "\(length): \(error.message)")
        }
    }
}

@Test func badMagicIsRefused() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    var copy = bytes
    copy[4] = 0x0A  // CR LF turned into LF, as a text-mode transfer would
    try writeBytes(copy, path)
    #expect(openError(path)?.message.contains("bad magic") == true)
}

@Test func flippedHeaderBytesAreCaughtByTheHeaderChecksum() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    let footer = try bytes.suffix(64).withUnsafeBytes { try Footer.decode($0, file: path, at: bytes.count - 64) }
    for position in stride(from: footer.headerOffset, to: footer.headerOffset + footer.headerLength, by: max(1, footer.headerLength / 25)) {
        var copy = bytes
        copy[position] ^= 0x20
        try writeBytes(copy, path)
        let error = openError(path)
        #expect(error?.message.contains("header is corrupt") == true)
        #expect(error?.message.contains("byte \(footer.headerOffset)") == true)
    }
}

@Test func flippedFooterBytesAreCaught() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    for position in bytes.count - 64..<bytes.count {
        var copy = bytes
        copy[position] ^= 0x01
        try writeBytes(copy, path)
        #expect(openError(path)?.kind == .badInput)
    }
}

@Test func unknownMajorVersionIsNamed() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    var copy = bytes
    copy[8] = 2
    var footer = try bytes.suffix(64).withUnsafeBytes { try Footer.decode($0, file: path, at: bytes.count - 64) }
    footer.major = 2
    copy.replaceSubrange(bytes.count - 64..<bytes.count, with: footer.encoded())
    try writeBytes(copy, path)
    let message = try #require(openError(path)?.message)
    #expect(message.contains("Molt format 2.0") && message.contains("1.x"))
}

@Test func unknownRequiredFlagIsRefused() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    var footer = try bytes.suffix(64).withUnsafeBytes { try Footer.decode($0, file: path, at: bytes.count - 64) }
    footer.flags |= 0x8
    try writeBytes(Array(bytes.dropLast(64)) + footer.encoded(), path)
    #expect(openError(path)?.kind == .unsupported)
    // Unknown optional flags are ignored.
    footer.flags = (footer.flags & ~0x8) | 0x10000
    try writeBytes(Array(bytes.dropLast(64)) + footer.encoded(), path)
    _ = try MoltFile(path: path)
}

/// Each edit of a valid header, and a piece of the message it must produce.
private let headerEdits: [(String, String, (inout [String: Any]) -> Void)] = [
    ("offset past the end", "runs past the data section", { editTensor(&$0, TensorNames.embedding) { $0["offset"] = 1 << 40 } }),
    ("offset overflow", "overflows", { editTensor(&$0, TensorNames.embedding) { $0["offset"] = Int.max - 63 } }),
    ("negative offset", "must be a multiple of 64", { editTensor(&$0, TensorNames.embedding) { $0["offset"] = -64 } }),
    ("misaligned", "must be a multiple of 64", { editTensor(&$0, TensorNames.embedding) { $0["offset"] = ($0["offset"] as! Int) + 8 } }),
    ("overlap", "overlaps", { o in
        let embedding = (o["tensors"] as! [[String: Any]])[0]["offset"] as! Int
        editTensor(&o, TensorNames.router(1, "weight")) { $0["offset"] = embedding }
    }),
    ("unknown type", "unknown type 'q3'", { editTensor(&$0, TensorNames.embedding) { $0["type"] = "q3" } }),
    ("wrong length", "its type and shape need", { editTensor(&$0, TensorNames.embedding) { $0["shape"] = [128, 65] } }),
    ("shape overflow", "overflows", { editTensor(&$0, TensorNames.embedding) { $0["shape"] = [1 << 40, 1 << 40] } }),
    ("negative dimension", "negative", { editTensor(&$0, TensorNames.embedding) { $0["shape"] = [-128, -64] } }),
    ("bad group size", "group size", { editTensor(&$0, TensorNames.expert(1, 0, "linear_fc1.weight")) { $0["group_size"] = 33 } }),
    ("group size on f32", "group_size", { editTensor(&$0, TensorNames.embedding) { $0["group_size"] = 32 } }),
    ("3-D q4", "2-D", { editTensor(&$0, TensorNames.expert(1, 0, "linear_fc1.weight")) { $0["shape"] = [2, 48, 64] } }),
    ("duplicate name", "appears twice", { editTensor(&$0, TensorNames.router(1, "weight")) { $0["name"] = TensorNames.embedding } }),
    ("missing field", "'tensors[0].crc32'", { editTensor(&$0, TensorNames.embedding) { $0["crc32"] = nil } }),
    ("wrong field type", "'tensors[0].offset'", { editTensor(&$0, TensorNames.embedding) { $0["offset"] = "64" } }),
    ("fractional offset", "wrong type", { editTensor(&$0, TensorNames.embedding) { $0["offset"] = 64.5 } }),
    ("expert outside its region", "not inside the expert region", { o in
        var regions = o["expert_regions"] as! [[String: Any]]
        regions[0]["length"] = 4096
        o["expert_regions"] = regions
    }),
    ("misaligned region", "pages", { o in
        var regions = o["expert_regions"] as! [[String: Any]]
        regions[0]["offset"] = (regions[0]["offset"] as! Int) + 64
        o["expert_regions"] = regions
    }),
    ("missing region", "not inside the expert region", { o in o["expert_regions"] = Array((o["expert_regions"] as! [[String: Any]]).dropFirst()) }),
    ("region over other tensors", "lies in the expert region", { o in
        var regions = o["expert_regions"] as! [[String: Any]]
        regions[0]["offset"] = 4096
        regions[0]["length"] = (regions[0]["offset"] as! Int) + (regions[0]["length"] as! Int) - 4096
        o["expert_regions"] = regions
    }),
    ("compression mismatch", "uncompressed_length", { editTensor(&$0, TensorNames.norm(0)) { t in
        var c = t["compression"] as! [String: Any]
        c["uncompressed_length"] = 1 << 20
        t["compression"] = c
    } }),
    ("unknown codec", "unknown compression", { editTensor(&$0, TensorNames.norm(0)) { t in
        var c = t["compression"] as! [String: Any]
        c["codec"] = "lz4"
        t["compression"] = c
    } }),
    ("zstd flag without compression", "zstd flag", { o in
        editTensor(&o, TensorNames.norm(0)) { t in
            t["compression"] = nil
            t["length"] = 256
        }
        var blobs = o["blobs"] as! [[String: Any]]
        blobs[0]["compression"] = nil
        o["blobs"] = blobs
    }),
    ("missing tokenizer blob", "tokenizer", { $0["tokenizer"] = "other.json" }),
    ("metadata name not a string", "metadata.name is not a string", { $0["metadata"] = ["name": 5, "note": "free-form"] }),
    ("version mismatch", "format_version", { $0["format_version"] = "1.1" }),
    ("bad model", "model.layers[1]", { o in
        var model = o["model"] as! [String: Any]
        model["layers"] = ["r", "x"]
        o["model"] = model
    }),
    ("not JSON", "header: invalid JSON: unexpected end of text", { $0 = ["": Double.nan] }),
]

@Test func inconsistentHeadersAreRefusedWithSpecificErrors() throws {
    for (what, expected, edit) in headerEdits {
        let (dir, path, _) = try sample()
        defer { withExtendedLifetime(dir) {} }
        if what == "not JSON" {
            // JSONSerialization will not write NaN: corrupt the text itself.
            try editHeaderText(path) { _ in Array("{\"tensors\": [".utf8) }
        } else {
            try editHeader(path, edit)
        }
        let error = openError(path)
        #expect(error?.kind == .badInput, "\(what)")
        #expect(error?.message.contains(expected) == true, "\(what): \(error?.message ?? "opened")")
        #expect(error?.message.contains("sample.molt") == true, "\(what)")
    }
}

@Test func duplicateHeaderKeysAreRefusedWithTheirOffset() throws {
    let (dir, path, _) = try sample()
    defer { withExtendedLifetime(dir) {} }
    // JSONDecoder kept the last of two keys; the strict parser refuses the second.
    try editHeaderText(path) { Array("{\"parity\":null,".utf8) + $0.dropFirst() }
    let headerOffset = try readBytes(path).suffix(64).withUnsafeBytes { try Footer.decode($0, file: path, at: 0) }.headerOffset
    let error = openError(path)
    #expect(error?.kind == .badInput)
    #expect(error?.message.hasPrefix("\(path): byte ") == true)
    #expect(error?.message.hasSuffix(": header: key 'parity' appears twice") == true, "\(error?.message ?? "opened")")
    let offset = error.flatMap { Int($0.message.dropFirst(path.count + 7).prefix { $0.isNumber }) } ?? -1
    #expect(offset > headerOffset)
}

private func editHeaderText(_ path: String, _ edit: ([UInt8]) -> [UInt8]) throws {
    let bytes = try readBytes(path)
    var footer = try bytes.suffix(64).withUnsafeBytes { try Footer.decode($0, file: path, at: bytes.count - 64) }
    let json = edit(Array(bytes[footer.headerOffset..<footer.headerOffset + footer.headerLength]))
    footer.headerLength = json.count
    footer.headerCRC = json.withUnsafeBytes { CRC32.of($0) }
    try writeBytes(Array(bytes[0..<footer.headerOffset]) + json + footer.encoded(), path)
}

@Test func checksumMismatchNamesTheTensor() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    let header = try MoltFile(path: path).header
    let target = try #require(header.tensors.first { $0.name == TensorNames.expert(1, 1, "linear_fc2.weight") })
    var copy = bytes
    copy[target.offset + 17] ^= 0x40
    try writeBytes(copy, path)
    let file = try MoltFile(path: path)  // opening does not checksum tensor data
    let error = #expect(throws: MoltError.self) { try file.verifyChecksums() }
    #expect(error?.kind == .badInput)
    #expect(error?.message.contains("tensor '\(target.name)' at byte \(target.offset)") == true)
    #expect(error?.message.contains(TensorNames.embedding) == false)
}

@Test func badZstdDataIsRefusedAtOpen() throws {
    let (dir, path, bytes) = try sample()
    defer { withExtendedLifetime(dir) {} }
    let header = try MoltFile(path: path).header
    let norm = try #require(header.tensors.first { $0.name == TensorNames.norm(0) })
    for position in [norm.offset, norm.offset + 5, norm.offset + norm.length / 2, norm.offset + norm.length - 1] {
        var copy = bytes
        copy[position] ^= 0xFF
        try writeBytes(copy, path)
        let message = openError(path)?.message ?? ""
        #expect(message.contains("bad zstd data") && message.contains("tensor '\(TensorNames.norm(0))'"), "\(position - norm.offset): \(message)")
    }
}

@Test func emptyAndTinyFilesAreRefused() throws {
    let dir = try ScratchDirectory()
    let path = dir.file("empty.molt")
    try writeBytes([], path)
    #expect(openError(path)?.message.contains("truncated") == true)
    try writeBytes(Preamble.encoded() + [UInt8](repeating: 0, count: 64), path)
    #expect(openError(path)?.message.contains("no Molt footer") == true)
}
