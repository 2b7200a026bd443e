import MoltCore

/// A read-only ZIP archive over a mapped file. Opening it checks the whole central directory
/// and every local header, so every entry's data range is known to lie inside the file;
/// reading an entry then only inflates and checks its CRC.
public final class ZipArchive: Sendable {
    /// Stored entries below this size (the pickle, version records) always have their CRC
    /// checked, since they are read whole anyway; storages only when `verifyChecksums` is set,
    /// since that reads every byte of a zero-copy mapping (`molt inspect` must not).
    public static let alwaysVerifiedSize = 1 << 20

    /// The most bytes an archive's deflated entries may inflate to together: eight times the
    /// file plus 64 MiB. Weights barely compress (deflated floats keep ~90% of their size) and
    /// torch stores them uncompressed, so only a zip bomb comes near; it is refused on opening,
    /// from the central directory's sizes, before anything is allocated or inflated.
    public static func inflationLimit(fileSize: Int) -> Int { 8 * fileSize + (64 << 20) }

    public let file: MappedFile
    /// Entries in central directory order.
    public let entries: [ZipEntry]
    public let verifyChecksums: Bool
    private let indexByName: [String: Int]

    public init(file: MappedFile, verifyChecksums: Bool = false) throws {
        self.file = file
        self.verifyChecksums = verifyChecksums
        entries = try CentralDirectory.read(file, CentralDirectoryLocation(file))
        let inflated = entries.lazy.filter { $0.method == ZipEntry.deflated }.reduce(0) { $0 + $1.uncompressedSize }
        let limit = Self.inflationLimit(fileSize: file.count)
        guard inflated <= limit else {
            throw MoltError.badInput(
                "deflated entries claim \(inflated) bytes from a \(file.count)-byte file, more than the \(limit) "
                    + "(8x the file + 64 MiB) Molt inflates: a zip bomb?", file: file.path)
        }
        indexByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($0.element.name, $0.offset) })
    }

    public func entry(named name: String) -> ZipEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entry's uncompressed bytes, checked now: a zero-copy slice of the mapping when
    /// stored, memory of exactly its uncompressed size when deflated.
    public func storage(of entry: ZipEntry) throws -> Storage {
        let storage = try record(of: entry)
        if entry.method == ZipEntry.deflated { try storage.verifyIntegrity() }
        return storage
    }

    /// The same, but a deflated entry is inflated (and its CRC checked) only when its bytes
    /// are first read, with failures reported by `verifyIntegrity()`: for tensor records,
    /// which `molt inspect` never reads.
    public func record(of entry: ZipEntry) throws -> Storage {
        // Only entries this archive validated may touch its mapping.
        guard let index = indexByName[entry.name], entries[index] == entry else {
            throw MoltError(.usage, "\(file.path): entry \(quoted(entry.name)) does not belong to this archive")
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
            // The closure keeps the mapping `data` points into alive.
            let file = self.file
            return Storage(deferredByteCount: entry.uncompressedSize) { output in
                try withExtendedLifetime(file) {
                    try Inflate.raw(data, into: output, what: "entry \(quoted(entry.name))", file: file.path, offset: entry.dataOffset)
                    try Self.checkCRC(of: entry, UnsafeRawBufferPointer(output), file: file.path)
                }
            }
        default:
            throw MoltError.unsupported(
                "entry \(quoted(entry.name)) uses compression method \(entry.method) (\(entry.methodName)), which Molt cannot read",
                file: file.path)
        }
    }

    private static func checkCRC(of entry: ZipEntry, _ bytes: UnsafeRawBufferPointer, file: String) throws {
        // A zero CRC means the writer did not record one (torch can turn CRCs off).
        guard entry.crc32 != 0 else { return }
        let actual = CRC32.of(bytes)
        guard actual == entry.crc32 else {
            throw MoltError.badInput(
                "entry \(quoted(entry.name)) fails its CRC-32 check (recorded 0x\(String(entry.crc32, radix: 16)), "
                    + "computed 0x\(String(actual, radix: 16)))", file: file, offset: entry.dataOffset)
        }
    }
}
