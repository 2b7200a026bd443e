import CZlib
import Foundation
import MoltCheckpoint
import MoltCore
import MoltTestSupport
import Testing

extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func patchLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { replaceSubrange(offset..<offset + $0.count, with: $0) }
    }
}

/// Raw deflate (no zlib header), as ZIP stores it.
private func deflateRaw(_ data: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    #expect(deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 16)
    var input = data
    let status = input.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            stream.next_out = outBuffer.baseAddress
            stream.avail_out = uInt(outBuffer.count)
            return deflate(&stream, Z_FINISH)
        }
    }
    #expect(status == Z_STREAM_END)
    return Array(output[0..<Int(stream.total_out)])
}

private func crc(_ data: [UInt8]) -> UInt32 {
    UInt32(data.withUnsafeBufferPointer { CZlib.crc32(0, $0.baseAddress, uInt($0.count)) })
}

/// Writes small ZIP archives the way torch (and ordinary zip tools) lay them out, with knobs
/// to break each part.
private struct ZipBuilder {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
        /// nil: the real CRC.
        var crc: UInt32?
        /// Sizes and offset as 0xFFFFFFFF with a zip64 extra field in the central directory.
        var zip64 = false
        /// torch pads the local extra field so the data starts at a multiple of this.
        var alignment = 0
        var localName: String?
        var compressedOverride: [UInt8]?
        var uncompressedSizeOverride: Int?
    }

    var entries: [Entry]
    /// torch writes zip64 end records even for tiny files.
    var zip64End = false
    var comment: [UInt8] = []

    struct Layout {
        var bytes: [UInt8]
        var localOffsets: [Int] = []
        var dataOffsets: [Int] = []
        var centralOffsets: [Int] = []
        var centralDirectoryOffset = 0
        var endOffset = 0
    }

    func build() -> Layout {
        var layout = Layout(bytes: [])
        var central: [[UInt8]] = []
        for entry in entries {
            let compressed = entry.compressedOverride ?? (entry.method == 8 ? deflateRaw(entry.data) : entry.data)
            let uncompressedSize = entry.uncompressedSizeOverride ?? entry.data.count
            let checksum = entry.crc ?? crc(entry.data)
            let localOffset = layout.bytes.count
            layout.localOffsets.append(localOffset)
            let localName = Array((entry.localName ?? entry.name).utf8)
            var extra: [UInt8] = []
            if entry.alignment > 0 {
                let unpadded = localOffset + 30 + localName.count + 4
                let padding = (entry.alignment - unpadded % entry.alignment) % entry.alignment
                extra.appendLE(UInt16(0x4246))
                extra.appendLE(UInt16(padding))
                extra += [UInt8](repeating: 0x5A, count: padding)
            }
            // Like torch: flags 0x0808 (data descriptor, UTF-8), zero CRC and sizes locally.
            var local: [UInt8] = []
            local.appendLE(UInt32(0x0403_4b50))
            local.appendLE(UInt16(45))
            local.appendLE(UInt16(0x0808))
            local.appendLE(entry.method)
            local.appendLE(UInt32(0))
            local.appendLE(UInt32(0))
            local.appendLE(UInt32(0))
            local.appendLE(UInt32(0))
            local.appendLE(UInt16(localName.count))
            local.appendLE(UInt16(extra.count))
            layout.bytes += local + localName + extra
            layout.dataOffsets.append(layout.bytes.count)
            layout.bytes += compressed
            // The data descriptor the flags promise.
            layout.bytes.appendLE(UInt32(0x0807_4b50))
            layout.bytes.appendLE(checksum)
            layout.bytes.appendLE(UInt64(compressed.count))
            layout.bytes.appendLE(UInt64(uncompressedSize))

            let name = Array(entry.name.utf8)
            var centralExtra: [UInt8] = []
            if entry.zip64 {
                centralExtra.appendLE(UInt16(1))
                centralExtra.appendLE(UInt16(24))
                centralExtra.appendLE(UInt64(uncompressedSize))
                centralExtra.appendLE(UInt64(compressed.count))
                centralExtra.appendLE(UInt64(localOffset))
            }
            var record: [UInt8] = []
            record.appendLE(UInt32(0x0201_4b50))
            record.appendLE(UInt16(45))
            record.appendLE(UInt16(45))
            record.appendLE(UInt16(0x0808))
            record.appendLE(entry.method)
            record.appendLE(UInt32(0))
            record.appendLE(checksum)
            record.appendLE(entry.zip64 ? UInt32.max : UInt32(compressed.count))
            record.appendLE(entry.zip64 ? UInt32.max : UInt32(uncompressedSize))
            record.appendLE(UInt16(name.count))
            record.appendLE(UInt16(centralExtra.count))
            record.appendLE(UInt16(0))
            record.appendLE(UInt16(0))
            record.appendLE(UInt16(0))
            record.appendLE(UInt32(0))
            record.appendLE(entry.zip64 ? UInt32.max : UInt32(localOffset))
            central.append(record + name + centralExtra)
        }
        layout.centralDirectoryOffset = layout.bytes.count
        for record in central {
            layout.centralOffsets.append(layout.bytes.count)
            layout.bytes += record
        }
        let centralSize = layout.bytes.count - layout.centralDirectoryOffset
        if zip64End {
            let recordOffset = layout.bytes.count
            layout.bytes.appendLE(UInt32(0x0606_4b50))
            layout.bytes.appendLE(UInt64(44))
            layout.bytes.appendLE(UInt16(45))
            layout.bytes.appendLE(UInt16(45))
            layout.bytes.appendLE(UInt32(0))
            layout.bytes.appendLE(UInt32(0))
            layout.bytes.appendLE(UInt64(entries.count))
            layout.bytes.appendLE(UInt64(entries.count))
            layout.bytes.appendLE(UInt64(centralSize))
            layout.bytes.appendLE(UInt64(layout.centralDirectoryOffset))
            layout.bytes.appendLE(UInt32(0x0706_4b50))
            layout.bytes.appendLE(UInt32(0))
            layout.bytes.appendLE(UInt64(recordOffset))
            layout.bytes.appendLE(UInt32(1))
        }
        layout.endOffset = layout.bytes.count
        layout.bytes.appendLE(UInt32(0x0605_4b50))
        layout.bytes.appendLE(UInt16(0))
        layout.bytes.appendLE(UInt16(0))
        layout.bytes.appendLE(zip64End ? UInt16.max : UInt16(entries.count))
        layout.bytes.appendLE(zip64End ? UInt16.max : UInt16(entries.count))
        layout.bytes.appendLE(zip64End ? UInt32.max : UInt32(centralSize))
        layout.bytes.appendLE(zip64End ? UInt32.max : UInt32(layout.centralDirectoryOffset))
        layout.bytes.appendLE(UInt16(comment.count))
        layout.bytes += comment
        return layout
    }
}

private let sampleFloats: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 13) }
private let repetitive = [UInt8](repeating: 42, count: 5000) + Array("tail".utf8)

/// The torch layout: zip64 everywhere, 64-byte aligned stored data, a deflated entry too.
private func torchLike() -> ZipBuilder {
    ZipBuilder(
        entries: [
            .init(name: "archive/data.pkl", data: Array("pickle bytes".utf8), zip64: true, alignment: 64),
            .init(name: "archive/data/0", data: sampleFloats, zip64: true, alignment: 64),
            .init(name: "archive/data/1", data: repetitive, method: 8, zip64: true),
            .init(name: "archive/version", data: Array("3\n".utf8), crc: 0, zip64: true, alignment: 64),
            .init(name: "archive/empty", data: [], zip64: true, alignment: 64),
        ],
        zip64End: true)
}

/// A copy of the storage's bytes, taken while the storage is certainly alive.
func copiedBytes(of storage: Storage) -> [UInt8] {
    withExtendedLifetime(storage) { Array(storage.bytes) }
}

private func open(_ bytes: [UInt8], verify: Bool = false, in scratch: ScratchDirectory? = nil) throws -> ZipArchive {
    let scratch = try scratch ?? ScratchDirectory()
    return try ZipArchive(file: scratch.map(bytes, as: UUID().uuidString), verifyChecksums: verify)
}

/// Opens the archive and reads every entry; the error, if any.
private func openAndReadAll(_ bytes: [UInt8], in scratch: ScratchDirectory? = nil) -> Error? {
    do {
        let archive = try open(bytes, in: scratch)
        for entry in archive.entries { _ = try archive.storage(of: entry) }
        return nil
    } catch {
        return error
    }
}

private func expectBadInput(_ bytes: [UInt8], _ keyword: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectMoltError([keyword], kind: .badInput, ignoringCase: true, sourceLocation: sourceLocation) {
        if let error = openAndReadAll(bytes) { throw error }
        return "every entry read"
    }
}

@Suite struct ZipArchiveTests {
    @Test func readsTorchLikeArchive() throws {
        let layout = torchLike().build()
        let archive = try open(layout.bytes)
        #expect(archive.entries.map(\.name) == ["archive/data.pkl", "archive/data/0", "archive/data/1", "archive/version", "archive/empty"])
        let tensorData = try #require(archive.entry(named: "archive/data/0"))
        #expect(tensorData.dataOffset % 64 == 0)
        #expect(tensorData.dataOffset == layout.dataOffsets[1])
        let stored = try archive.storage(of: tensorData)
        #expect(copiedBytes(of: stored) == sampleFloats)
        #expect(stored.mappedFile === archive.file)

        let deflated = try archive.storage(of: try #require(archive.entry(named: "archive/data/1")))
        #expect(copiedBytes(of: deflated) == repetitive)
        #expect(deflated.mappedFile == nil)
        #expect(copiedBytes(of: try archive.storage(of: try #require(archive.entry(named: "archive/version")))) == Array("3\n".utf8))
        #expect(try archive.storage(of: try #require(archive.entry(named: "archive/empty"))).count == 0)
        #expect(archive.entry(named: "archive/missing") == nil)
    }

    @Test func readsPlainArchiveWithComment() throws {
        var builder = ZipBuilder(entries: [
            .init(name: "a.txt", data: Array("hello".utf8)),
            .init(name: "b.bin", data: repetitive, method: 8),
        ])
        // A comment that itself contains an end-record signature must not mislead the search.
        builder.comment = Array("PK\u{5}\u{6} not a record".utf8)
        let archive = try open(builder.build().bytes)
        #expect(archive.entries.count == 2)
        #expect(copiedBytes(of: try archive.storage(of: archive.entries[1])) == repetitive)
    }

    @Test func zeroCRCIsAcceptedAndWrongCRCIsNot() throws {
        var builder = ZipBuilder(entries: [.init(name: "x", data: [1, 2, 3], crc: 0)])
        #expect(openAndReadAll(builder.build().bytes) == nil)
        builder.entries[0].crc = 0x1234_5678
        expectBadInput(builder.build().bytes, "CRC")
        expectBadInput(builder.build().bytes, "'x'")
        builder.entries[0].method = 8
        expectBadInput(builder.build().bytes, "CRC")
    }

    @Test func largeStoredEntriesAreCheckedOnlyOnRequest() throws {
        let big = [UInt8](repeating: 1, count: ZipArchive.alwaysVerifiedSize)
        let bytes = ZipBuilder(entries: [.init(name: "big", data: big, crc: 0xBAD)]).build().bytes
        let lenient = try open(bytes)
        let unchecked = try lenient.storage(of: lenient.entries[0])
        #expect(unchecked.count == big.count)
        try unchecked.verifyIntegrity()
        // Verified archives defer the check until the bytes are needed, and then fail.
        let strict = try open(bytes, verify: true)
        let deferred = try strict.storage(of: strict.entries[0])
        // The recorded CRC-32 travels with the storage, so a whole copy can carry it.
        #expect(deferred.recordedCRC32 == 0xBAD && unchecked.recordedCRC32 == nil)
        #expect(throws: MoltError.self) { try deferred.verifyIntegrity() }
        #expect(throws: MoltError.self) { try deferred.verifyIntegrity() }
    }

    /// One read of the file can stand in for the deferred check (`TensorTable.digestFiles`):
    /// a matching CRC settles it, a wrong one leaves it to fail as before.
    @Test func aCRCComputedElsewhereSettlesTheDeferredCheck() throws {
        let big = (0..<ZipArchive.alwaysVerifiedSize).map { UInt8(truncatingIfNeeded: $0 &* 7 >> 3) }
        let crc = big.withUnsafeBytes { CRC32.of($0) }
        for recorded in [crc, crc ^ 1] {
            let archive = try open(ZipBuilder(entries: [.init(name: "big", data: big, crc: recorded)]).build().bytes, verify: true)
            let storage = try archive.storage(of: archive.entries[0])
            #expect(storage.awaitsCRC32Check)
            let range = try #require(storage.fileRange)
            #expect(copiedBytes(of: storage) == Array(storage.mappedFile!.bytes[range]))
            storage.settleCheck(computedCRC32: storage.mappedFile!.digest(crc32Of: [range]).crc32s[0])
            #expect(storage.awaitsCRC32Check == (recorded != crc))
            if recorded == crc {
                try storage.verifyIntegrity()
            } else {
                #expect(throws: MoltError.self) { try storage.verifyIntegrity() }
            }
        }
    }

    @Test func truncationAtEveryOffsetIsAnError() throws {
        let bytes = torchLike().build().bytes
        let scratch = try ScratchDirectory()
        for length in 0..<bytes.count {
            let error = openAndReadAll(Array(bytes[0..<length]), in: scratch)
            #expect(error is MoltError, "length \(length): \(String(describing: error))")
        }
    }

    @Test func corruptingAnyByteNeverCrashes() throws {
        let bytes = torchLike().build().bytes
        let scratch = try ScratchDirectory()
        for offset in 0..<bytes.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = bytes
                corrupt[offset] ^= flip
                let error = openAndReadAll(corrupt, in: scratch)
                #expect(error == nil || error is MoltError, "offset \(offset): \(String(describing: error))")
            }
        }
    }

    @Test func missingEndRecordIsReported() {
        var bytes = ZipBuilder(entries: [.init(name: "x", data: [1])]).build().bytes
        bytes += [0]
        expectBadInput(bytes, "end of central directory")
        expectBadInput([], "end of central directory")
        expectBadInput(Array("PK\u{3}\u{4} and nothing else".utf8), "end of central directory")
    }

    @Test func corruptCentralDirectoryIsReported() {
        let layout = ZipBuilder(entries: [.init(name: "x", data: [1]), .init(name: "y", data: [2])]).build()
        var badSignature = layout.bytes
        badSignature[layout.centralOffsets[1]] = 0
        expectBadInput(badSignature, "central directory")

        var outOfBounds = layout.bytes
        outOfBounds.patchLE(UInt32(layout.bytes.count), at: layout.endOffset + 16)
        expectBadInput(outOfBounds, "central directory")

        var tooManyEntries = layout.bytes
        tooManyEntries.patchLE(UInt16(3), at: layout.endOffset + 8)
        tooManyEntries.patchLE(UInt16(3), at: layout.endOffset + 10)
        expectBadInput(tooManyEntries, "central directory")

        var tooFewEntries = layout.bytes
        tooFewEntries.patchLE(UInt16(1), at: layout.endOffset + 8)
        tooFewEntries.patchLE(UInt16(1), at: layout.endOffset + 10)
        expectBadInput(tooFewEntries, "central directory")
    }

    @Test func entryCountIsBounded() {
        var layout = ZipBuilder(entries: [.init(name: "x", data: [1])], zip64End: true).build()
        let zip64Record = layout.endOffset - 20 - 56
        layout.bytes.patchLE(UInt64(2_000_000), at: zip64Record + 24)
        layout.bytes.patchLE(UInt64(2_000_000), at: zip64Record + 32)
        expectBadInput(layout.bytes, "allowed")
    }

    @Test func badLocalHeadersAreReported() {
        let builder = ZipBuilder(entries: [.init(name: "x", data: [1, 2]), .init(name: "y", data: [3])])
        let layout = builder.build()

        var outOfBounds = layout.bytes
        outOfBounds.patchLE(UInt32(0x7FFF_0000), at: layout.centralOffsets[1] + 42)
        expectBadInput(outOfBounds, "local header")

        var pointsAtData = layout.bytes
        pointsAtData.patchLE(UInt32(layout.dataOffsets[0]), at: layout.centralOffsets[0] + 42)
        expectBadInput(pointsAtData, "local header")

        var renamed = builder
        renamed.entries[1].localName = "z"
        expectBadInput(renamed.build().bytes, "local header names 'z'")

        var oversized = layout.bytes
        oversized.patchLE(UInt32(1000), at: layout.centralOffsets[1] + 20)
        oversized.patchLE(UInt32(1000), at: layout.centralOffsets[1] + 24)
        expectBadInput(oversized, "central directory")
    }

    @Test func entryDataPastTheEndIsTruncated() {
        // A lone entry whose sizes claim more bytes than remain in the file.
        let layout = ZipBuilder(entries: [.init(name: "x", data: [1, 2])]).build()
        var bytes = layout.bytes
        let claimed = UInt32(bytes.count)
        bytes.patchLE(claimed, at: layout.centralOffsets[0] + 20)
        bytes.patchLE(claimed, at: layout.centralOffsets[0] + 24)
        expectBadInput(bytes, "truncated")
    }

    @Test func duplicateNamesAreRefused() {
        expectBadInput(ZipBuilder(entries: [.init(name: "x", data: [1]), .init(name: "x", data: [2])]).build().bytes, "twice")
    }

    @Test func namesMustBeUTF8() {
        let layout = ZipBuilder(entries: [.init(name: "ab", data: [1])]).build()
        var bytes = layout.bytes
        bytes[layout.centralOffsets[0] + 46] = 0xFF
        expectBadInput(bytes, "UTF-8")
    }

    @Test func zip64FieldsMustBePresentWhenUsed() {
        let layout = ZipBuilder(entries: [.init(name: "x", data: [1])]).build()
        var bytes = layout.bytes
        bytes.patchLE(UInt32.max, at: layout.centralOffsets[0] + 42)
        expectBadInput(bytes, "zip64")
    }

    @Test func unsupportedMethodsAreNamed() throws {
        let archive = try open(ZipBuilder(entries: [.init(name: "x", data: [1], method: 12)]).build().bytes)
        #expect(archive.entries[0].method == 12)
        let error = #expect(throws: MoltError.self) { try archive.storage(of: archive.entries[0]) }
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("method 12") == true)
    }

    @Test func deflateStreamsMustMatchTheirRecordedSize() {
        var builder = ZipBuilder(entries: [.init(name: "x", data: repetitive, method: 8, crc: 0)])
        builder.entries[0].uncompressedSizeOverride = repetitive.count - 1
        expectBadInput(builder.build().bytes, "more than")
        builder.entries[0].uncompressedSizeOverride = repetitive.count + 1
        expectBadInput(builder.build().bytes, "inflates to")

        let stream = deflateRaw(repetitive)
        builder.entries[0].uncompressedSizeOverride = nil
        builder.entries[0].compressedOverride = Array(stream.dropLast(3))
        expectBadInput(builder.build().bytes, "truncated")
        builder.entries[0].compressedOverride = stream + [0, 0]
        expectBadInput(builder.build().bytes, "follow the end")
        builder.entries[0].compressedOverride = [0xFF] + stream
        expectBadInput(builder.build().bytes, "corrupt deflate")
        // Far more than deflate could produce from 3 bytes: refused before allocating.
        builder.entries[0].compressedOverride = [3, 0, 0]
        builder.entries[0].uncompressedSizeOverride = 1 << 40
        builder.entries[0].zip64 = true
        expectBadInput(builder.build().bytes, "more than deflate")
    }

    @Test func entriesFromAnotherArchiveAreRefused() throws {
        let first = try open(ZipBuilder(entries: [.init(name: "x", data: [1])]).build().bytes)
        let second = try open(ZipBuilder(entries: [.init(name: "x", data: Array(repeating: 9, count: 100))]).build().bytes)
        #expect(throws: MoltError.self) { try first.storage(of: second.entries[0]) }
    }
}

/// Issue 13's findings: zip bombs, lazy inflation, names that would drive a terminal.
@Suite struct ZipResourceBoundTests {
    @Test func zipBombIsRefusedOnOpeningBeforeInflating() throws {
        // 100 KB of incompressible bytes whose directory claims 80 MiB: within deflate's
        // 1032x, but past 8x the file + 64 MiB.
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var builder = ZipBuilder(entries: [.init(name: "archive/data/0", data: noise, method: 8, crc: 0)])
        builder.entries[0].uncompressedSizeOverride = 80 << 20
        let bytes = builder.build().bytes
        let scratch = try ScratchDirectory()
        let file = try scratch.map(bytes)
        let error = #expect(throws: MoltError.self) { try ZipArchive(file: file) }
        let limit = ZipArchive.inflationLimit(fileSize: bytes.count)
        #expect(error?.message == "\(file.path): deflated entries claim \(80 << 20) bytes from a \(bytes.count)-byte file, "
            + "more than the \(limit) (8x the file + 64 MiB) Molt inflates: a zip bomb?")
        #expect(error?.kind == .badInput)
    }

    @Test func hundredThousandEntriesAreReadInBoundedTimeAndRefusedAsTorch() throws {
        // RELIABILITY.md's bound: the directory is read in one pass, O(entries), and an archive
        // that is not a torch checkpoint is refused before any entry's data is touched.
        let entries = (0..<100_000).map { ZipBuilder.Entry(name: "archive/data/\($0)", data: [UInt8(truncatingIfNeeded: $0)]) }
        var builder = ZipBuilder(entries: entries)
        builder.zip64End = true  // more than 65535 entries
        let bytes = builder.build().bytes
        let scratch = try ScratchDirectory()
        let file = try scratch.map(bytes)
        let started = Date()
        let archive = try ZipArchive(file: file)
        #expect(archive.entries.count == 100_000)
        var warnings: [String] = []
        let error = #expect(throws: MoltError.self) { try TorchZip.read(archive, warnings: &warnings) }
        #expect(error?.message == "\(file.path): a zip archive without a <folder>/data.pkl: not a torch checkpoint")
        // Generous (it takes well under a second): a bound on the work, not a speed target.
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test func deflatedRecordsAreInflatedOnlyWhenRead() throws {
        // A corrupt deflate stream: opening and sizing the record succeed (what inspect needs);
        // reading or verifying it fails with the stream's error.
        var builder = ZipBuilder(entries: [.init(name: "x", data: repetitive, method: 8)])
        builder.entries[0].compressedOverride = [UInt8](repeating: 0xFF, count: 64)
        let archive = try open(builder.build().bytes)
        let record = try archive.record(of: archive.entries[0])
        #expect(record.count == repetitive.count)
        let error = #expect(throws: MoltError.self) { try record.verifyIntegrity() }
        #expect(error?.message.contains("entry 'x': corrupt deflate data") == true)
        // The eager form reports it at once.
        #expect(throws: MoltError.self) { try archive.storage(of: archive.entries[0]) }
        // A good record reads back the same through either.
        let good = try open(ZipBuilder(entries: [.init(name: "y", data: repetitive, method: 8)]).build().bytes)
        let lazy = try good.record(of: good.entries[0])
        try lazy.verifyIntegrity()
        #expect(copiedBytes(of: lazy) == repetitive)
    }

    @Test func entryNamesWithControlCharactersAreEscapedOnOneLine() throws {
        // The terminal injection: clear screen, set the window title, ring the bell.
        let hostile = "\u{1B}[2J\u{1B}]0;owned\u{07}\nline two"
        let builder = ZipBuilder(entries: [.init(name: hostile, data: [1], method: 12)])
        let archive = try open(builder.build().bytes)
        let error = #expect(throws: MoltError.self) { try archive.storage(of: archive.entries[0]) }
        let message = try #require(error?.message)
        #expect(message.hasSuffix(
            "entry '\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\nline two' uses compression method 12 (bzip2), which Molt cannot read"))
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    }
}
