import MoltCore

/// Parses and checks every central directory entry, then each entry's local header, so that
/// every `ZipEntry` handed out has a data range inside the file.
enum CentralDirectory {
    private static let entrySignature: UInt32 = 0x0201_4b50
    private static let localSignature: UInt32 = 0x0403_4b50
    private static let entryHeaderSize = 46
    private static let localHeaderSize = 30
    private static let zip64ExtraID: UInt16 = 0x0001
    /// A 32-bit size or offset with this value lives in the zip64 extra field.
    private static let inZip64: UInt32 = 0xFFFF_FFFF
    /// Deflate's best case is about 2 bits per 258-byte match, so no stream inflates to more
    /// than 1032 times its size; larger claims are refused before any allocation.
    private static let maxDeflateRatio = 1032

    static func read(_ file: MappedFile, _ location: CentralDirectoryLocation) throws -> [ZipEntry] {
        let directory = try ZipRecord(file, at: location.offset, size: location.size, what: "central directory")
        var entries: [ZipEntry] = []
        entries.reserveCapacity(location.entryCount)
        var seen = Set<String>()
        var position = 0
        for index in 0..<location.entryCount {
            let (entry, length) = try readEntry(file, directory, at: position, index: index, limit: location.offset)
            guard seen.insert(entry.name).inserted else {
                throw directory.error("entry \(quoted(entry.name)) appears twice in the central directory", at: position)
            }
            entries.append(entry)
            position += length
        }
        guard position == directory.count else {
            throw directory.error(
                "central directory has \(directory.count - position) bytes after its \(location.entryCount) entries",
                at: position)
        }
        return entries
    }

    /// The entry at `position` in the directory and the number of directory bytes it takes.
    /// `limit` is where the directory starts: local headers and data must end before it.
    private static func readEntry(
        _ file: MappedFile, _ directory: ZipRecord, at position: Int, index: Int, limit: Int
    ) throws -> (ZipEntry, Int) {
        let header = try directory.slice(
            at: position, size: entryHeaderSize, "central directory entry \(index)", within: "central directory")
        guard header.u32(0) == entrySignature else {
            throw header.error(
                "central directory entry \(index) has signature 0x\(String(header.u32(0), radix: 16)), not 0x02014b50")
        }
        let nameLength = Int(header.u16(28)), extraLength = Int(header.u16(30)), commentLength = Int(header.u16(32))
        let nameBytes = try directory.slice(
            at: position + entryHeaderSize, size: nameLength, "name of central directory entry \(index)",
            within: "central directory")
        guard let name = String(validating: nameBytes.bytes, as: UTF8.self) else {
            throw nameBytes.error("central directory entry \(index) has a name that is not valid UTF-8")
        }
        let extra = try directory.slice(
            at: position + entryHeaderSize + nameLength, size: extraLength, "extra field of entry \(quoted(name))",
            within: "central directory")
        let length = entryHeaderSize + nameLength + extraLength + commentLength
        _ = try directory.slice(at: position, size: length, "entry \(quoted(name))", within: "central directory")

        let flags = header.u16(8), method = header.u16(10)
        // Bit 0: traditional encryption; bit 6: strong encryption.
        guard flags & 0x41 == 0 else {
            throw MoltError.unsupported("entry \(quoted(name)) is encrypted", file: file.path)
        }
        var uncompressedSize = UInt64(header.u32(24))
        var compressedSize = UInt64(header.u32(20))
        var localOffset = UInt64(header.u32(42))
        try applyZip64(extra, name: name, uncompressed: &uncompressedSize, compressed: &compressedSize, offset: &localOffset)

        // Past these checks every size and offset is at most the file size, which a mapping
        // keeps far below Int.max, so the sums below cannot overflow.
        guard compressedSize <= UInt64(file.count), uncompressedSize <= UInt64(Int.max), localOffset <= UInt64(limit) else {
            throw header.error(
                "entry \(quoted(name)) has an impossible size or offset (compressed \(compressedSize), uncompressed "
                    + "\(uncompressedSize), local header at \(localOffset)) for a central directory at byte \(limit)")
        }
        if method == ZipEntry.stored, compressedSize != uncompressedSize {
            throw header.error(
                "stored entry \(quoted(name)) has compressed size \(compressedSize) but uncompressed size \(uncompressedSize)")
        }
        if method == ZipEntry.deflated {
            let (bound, overflow) = Int(compressedSize).multipliedReportingOverflow(by: maxDeflateRatio)
            guard overflow || uncompressedSize <= UInt64(bound) else {
                throw header.error(
                    "deflated entry \(quoted(name)) claims \(uncompressedSize) bytes from \(compressedSize) compressed bytes, "
                        + "more than deflate can expand to")
            }
        }
        let dataOffset = try locateData(
            file, name: name, nameBytes: nameBytes.bytes, localOffset: Int(localOffset),
            compressedSize: Int(compressedSize), limit: limit)
        let entry = ZipEntry(
            name: name, method: method, flags: flags, crc32: header.u32(16), compressedSize: Int(compressedSize),
            uncompressedSize: Int(uncompressedSize), localHeaderOffset: Int(localOffset), dataOffset: dataOffset)
        return (entry, length)
    }

    /// Replaces 0xFFFFFFFF sizes and offset with the 64-bit values of the zip64 extra field,
    /// which holds, in this order, only the fields that overflowed.
    private static func applyZip64(
        _ extra: ZipRecord, name: String, uncompressed: inout UInt64, compressed: inout UInt64, offset: inout UInt64
    ) throws {
        let needed = [uncompressed, compressed, offset].filter { $0 == UInt64(inZip64) }.count * 8
        var zip64: ZipRecord?
        var position = 0
        while position < extra.count {
            let field = try extra.slice(
                at: position, size: 4, "extra field record of entry \(quoted(name))", within: "extra field")
            let data = try extra.slice(
                at: position + 4, size: Int(field.u16(2)), "extra field record 0x\(String(field.u16(0), radix: 16)) of entry \(quoted(name))",
                within: "extra field")
            if field.u16(0) == zip64ExtraID {
                guard zip64 == nil else { throw field.error("entry \(quoted(name)) has the zip64 extra field twice") }
                zip64 = data
            }
            position += 4 + data.count
        }
        guard needed > 0 else { return }
        guard let zip64, zip64.count >= needed else {
            throw extra.error(
                "entry \(quoted(name)) needs \(needed) bytes of zip64 extra field for its sizes and offset but has "
                    + "\(zip64?.count ?? 0)")
        }
        var next = 0
        func resolve(_ value: inout UInt64) {
            guard value == UInt64(inZip64) else { return }
            value = zip64.u64(next)
            next += 8
        }
        resolve(&uncompressed)
        resolve(&compressed)
        resolve(&offset)
    }

    /// Reads the entry's local header (its extra field differs from the central one: torch pads
    /// it to align the data) and returns where the data starts.
    private static func locateData(
        _ file: MappedFile, name: String, nameBytes: UnsafeRawBufferPointer, localOffset: Int, compressedSize: Int,
        limit: Int
    ) throws -> Int {
        let local = try ZipRecord(file, at: localOffset, size: localHeaderSize, what: "local header of entry \(quoted(name))")
        guard local.u32(0) == localSignature else {
            throw local.error(
                "entry \(quoted(name)): no local header signature at its local header offset (found 0x\(String(local.u32(0), radix: 16)))")
        }
        let localNameLength = Int(local.u16(26)), localExtraLength = Int(local.u16(28))
        let localName = try ZipRecord(
            file, at: localOffset + localHeaderSize, size: localNameLength, what: "local header name of entry \(quoted(name))")
        guard localName.bytes.elementsEqual(nameBytes) else {
            throw localName.error(
                "entry \(quoted(name)): local header names \(quoted(String(decoding: localName.bytes, as: UTF8.self))) instead")
        }
        let dataOffset = localOffset + localHeaderSize + localNameLength + localExtraLength
        let dataEnd = dataOffset + compressedSize
        guard dataEnd <= file.count else {
            throw MoltError.badInput(
                "entry \(quoted(name)) data [\(dataOffset), \(dataEnd)) runs past the end of the file (\(file.count) bytes): truncated",
                file: file.path, offset: dataOffset)
        }
        guard dataEnd <= limit else {
            throw MoltError.badInput(
                "entry \(quoted(name)) data [\(dataOffset), \(dataEnd)) runs into the central directory at byte \(limit)",
                file: file.path, offset: dataOffset)
        }
        return dataOffset
    }
}
