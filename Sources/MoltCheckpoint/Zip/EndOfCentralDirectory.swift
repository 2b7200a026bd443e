import MoltCore

/// Where the central directory lies, read from the end-of-central-directory record and, when
/// present, the zip64 locator and zip64 end record (torch writes those even for tiny files).
struct CentralDirectoryLocation {
    /// More entries than any checkpoint has; bounds the work a hostile directory can ask for.
    static let maxEntries = 1_000_000

    let entryCount: Int
    let offset: Int
    let size: Int

    private static let eocdSignature: UInt32 = 0x0605_4b50
    private static let locatorSignature: UInt32 = 0x0706_4b50
    private static let zip64Signature: UInt32 = 0x0606_4b50
    private static let eocdSize = 22
    private static let locatorSize = 20
    private static let zip64Size = 56

    init(_ file: MappedFile) throws {
        let eocd = try Self.findEndRecord(file)
        var diskNumbers = [Int(eocd.u16(4)), Int(eocd.u16(6))]
        var entriesOnDisk = UInt64(eocd.u16(8))
        var entries = UInt64(eocd.u16(10))
        var size = UInt64(eocd.u32(12))
        var offset = UInt64(eocd.u32(16))
        // The directory must end before the records that describe it.
        var directoryLimit = eocd.offset

        if eocd.offset >= Self.locatorSize {
            let locator = try ZipRecord(
                file, at: eocd.offset - Self.locatorSize, size: Self.locatorSize, what: "zip64 end of central directory locator")
            if locator.u32(0) == Self.locatorSignature {
                guard locator.u32(16) <= 1 else {
                    throw MoltError.unsupported("archives spanning several disks are not supported", file: file.path)
                }
                diskNumbers.append(Int(locator.u32(4)))
                let recordOffset = locator.u64(8)
                guard recordOffset <= UInt64(locator.offset) else {
                    throw locator.error(
                        "zip64 end of central directory record offset \(recordOffset) is not before its locator")
                }
                let record = try ZipRecord(
                    file, at: Int(recordOffset), size: Self.zip64Size, what: "zip64 end of central directory record")
                guard record.u32(0) == Self.zip64Signature else {
                    throw record.error("no zip64 end of central directory record signature")
                }
                // The record's own size field counts the bytes after its first 12.
                let (recordEnd, overflow) = record.u64(4).addingReportingOverflow(12 + recordOffset)
                guard !overflow, record.u64(4) >= UInt64(Self.zip64Size - 12), recordEnd <= UInt64(locator.offset) else {
                    throw record.error("zip64 end of central directory record has a bad size \(record.u64(4))")
                }
                diskNumbers += [Int(record.u32(16)), Int(record.u32(20))]
                entriesOnDisk = record.u64(24)
                entries = record.u64(32)
                size = record.u64(40)
                offset = record.u64(48)
                directoryLimit = record.offset
            }
        }

        guard diskNumbers.allSatisfy({ $0 == 0 }), entriesOnDisk == entries else {
            throw MoltError.unsupported("archives spanning several disks are not supported", file: file.path)
        }
        guard entries <= UInt64(Self.maxEntries) else {
            throw MoltError.badInput(
                "central directory lists \(entries) entries, more than the \(Self.maxEntries) allowed", file: file.path)
        }
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= UInt64(directoryLimit) else {
            throw MoltError.badInput(
                "central directory at byte \(offset) (\(size) bytes) runs past the end of central directory record "
                    + "at byte \(directoryLimit)", file: file.path)
        }
        // Every entry takes at least 46 bytes: refuse counts the directory cannot hold before
        // allocating anything for them.
        guard entries * 46 <= size else {
            throw MoltError.badInput(
                "central directory of \(size) bytes cannot hold the \(entries) entries it claims", file: file.path, offset: Int(offset))
        }
        entryCount = Int(entries)
        self.offset = Int(offset)
        self.size = Int(size)
    }

    /// The last end-of-central-directory record whose comment runs exactly to the end of the
    /// file, searched for over the last 22 + 65535 bytes (the record plus the longest comment).
    private static func findEndRecord(_ file: MappedFile) throws -> ZipRecord {
        let bytes = file.bytes
        if bytes.count >= eocdSize {
            let lowest = max(0, bytes.count - eocdSize - Int(UInt16.max))
            for candidate in stride(from: bytes.count - eocdSize, through: lowest, by: -1)
            where UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: candidate, as: UInt32.self)) == eocdSignature {
                let record = try ZipRecord(file, at: candidate, size: eocdSize, what: "end of central directory record")
                if candidate + eocdSize + Int(record.u16(20)) == bytes.count { return record }
            }
        }
        throw MoltError.badInput(
            "no end of central directory record: not a zip archive, or truncated", file: file.path)
    }
}
