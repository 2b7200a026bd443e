/// The fixed numbers of the format (Formats/molt.md).
public enum MoltFormat {
    public static let majorVersion = 1
    public static let minorVersion = 0
    public static var versionString: String { "\(majorVersion).\(minorVersion)" }

    /// "MOLT\r\n\u{1A}\n": the CR LF, ^Z, LF bytes make text-mode transfers fail loudly.
    static let preambleMagic: [UInt8] = [0x4D, 0x4F, 0x4C, 0x54, 0x0D, 0x0A, 0x1A, 0x0A]
    /// "MOLTFOOT"
    static let footerMagic: [UInt8] = Array("MOLTFOOT".utf8)
    static let preambleSize = 64
    static let footerSize = 64

    /// Every tensor and blob starts at a multiple of this: a cache line, the widest register.
    public static let tensorAlignment = 64
    /// Expert regions start and end at multiples of this, so one expert pages in alone.
    public static let pageSize = 4096
    /// A sanity limit on the header, which is read whole at open.
    static let maxHeaderLength = 256 << 20

    /// Footer flag bit 0 (required): some tensor or blob is zstd-compressed.
    static let zstdFlag: UInt32 = 1
    /// Bits 0-15 name features a reader must know; bits 16-31 may be ignored.
    static let requiredFlagsMask: UInt32 = 0xFFFF
    static let knownRequiredFlags: UInt32 = zstdFlag

    /// Tensor shapes have at most this many dimensions.
    static let maxRank = 8
}
