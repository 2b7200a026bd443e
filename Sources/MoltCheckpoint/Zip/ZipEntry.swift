/// One file of a ZIP archive as its central directory describes it, with the data location
/// already resolved through (and checked against) its local header.
public struct ZipEntry: Sendable, Hashable {
    public let name: String
    /// Compression method: 0 stored, 8 deflate; others are listed but cannot be read.
    public let method: UInt16
    public let flags: UInt16
    /// CRC-32 of the uncompressed bytes; 0 means "not recorded" (torch can skip it).
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let localHeaderOffset: Int
    /// Where the entry's stored or compressed bytes start in the file.
    public let dataOffset: Int

    /// The entry's stored or compressed bytes in the file.
    public var dataRange: Range<Int> { dataOffset..<dataOffset + compressedSize }

    public static let stored: UInt16 = 0
    public static let deflated: UInt16 = 8

    /// The method's name for error messages.
    var methodName: String {
        switch method {
        case 0: "stored"
        case 8: "deflate"
        case 9: "deflate64"
        case 12: "bzip2"
        case 14: "lzma"
        case 93: "zstandard"
        case 95: "xz"
        case 99: "AES-encrypted"
        default: "unknown"
        }
    }
}
