import MoltCore

/// A read-only ZIP archive over a mapped file. Opening it checks the whole central directory
/// and every local header, so every entry's data range is known to lie inside the file;
/// reading an entry then only inflates and checks its CRC.
public final class ZipArchive: Sendable {
    /// Stored entries below this size (the pickle, version records) always have their CRC
    /// checked, since they are read whole anyway; storages only when `verifyChecksums` is set,
    /// since that reads every byte of a zero-copy mapping (`molt inspect` must not).
    public static let alwaysVerifiedSize = 1 << 20

    public let file: MappedFile
    /// Entries in central directory order.
    public let entries: [ZipEntry]
    public let verifyChecksums: Bool
    private let indexByName: [String: Int]

    public init(file: MappedFile, verifyChecksums: Bool = false) throws {
        self.file = file
        self.verifyChecksums = verifyChecksums
        entries = try CentralDirectory.read(file, CentralDirectoryLocation(file))
        indexByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($0.element.name, $0.offset) })
    }

    public func entry(named name: String) -> ZipEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entry's uncompressed bytes: a zero-copy slice of the mapping when stored, memory of
    /// exactly its uncompressed size when deflated.
    public func storage(of entry: ZipEntry) throws -> Storage {
        // Only entries this archive validated may touch its mapping.
        guard let index = indexByName[entry.name], entries[index] == entry else {
            throw MoltError(.usage, "\(file.path): entry '\(entry.name)' does not belong to this archive")
        }
        let data = UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataRange])
        switch entry.method {
        case ZipEntry.stored:
            guard entry.uncompressedSize < Self.alwaysVerifiedSize else {
                guard verifyChecksums else { return Storage(file: file, range: entry.dataRange) }
                // Checked when the bytes are first needed, then dropped from memory again.
                let file = self.file
                return Storage(file: file, range: entry.dataRange, recordedCRC32: entry.crc32 == 0 ? nil : entry.crc32) { bytes in
                    try Self.checkCRC(of: entry, bytes, file: file.path)
                    file.release(entry.dataRange)
                }
            }
            let storage = Storage(file: file, range: entry.dataRange)
            try Self.checkCRC(of: entry, storage.bytes, file: file.path)
            return storage
        case ZipEntry.deflated:
            let storage = try Inflate.raw(
                data, size: entry.uncompressedSize, what: "entry '\(entry.name)'", file: file.path, offset: entry.dataOffset)
            try Self.checkCRC(of: entry, storage.bytes, file: file.path)
            return storage
        default:
            throw MoltError.unsupported(
                "entry '\(entry.name)' uses compression method \(entry.method) (\(entry.methodName)), which Molt cannot read",
                file: file.path)
        }
    }

    private static func checkCRC(of entry: ZipEntry, _ bytes: UnsafeRawBufferPointer, file: String) throws {
        // A zero CRC means the writer did not record one (torch can turn CRCs off).
        guard entry.crc32 != 0 else { return }
        let actual = CRC32.of(bytes)
        guard actual == entry.crc32 else {
            throw MoltError.badInput(
                "entry '\(entry.name)' fails its CRC-32 check (recorded 0x\(String(entry.crc32, radix: 16)), "
                    + "computed 0x\(String(actual, radix: 16)))", file: file, offset: entry.dataOffset)
        }
    }
}
