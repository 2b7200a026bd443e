import MoltCore

/// The fixed-size footer at the end of a .molt file (Formats/molt.md, "Footer").
struct Footer: Equatable {
    var major: Int
    var minor: Int
    var flags: UInt32
    var headerOffset: Int
    var headerLength: Int
    var headerCRC: UInt32

    func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: MoltFormat.footerSize)
        bytes.replaceSubrange(0..<8, with: MoltFormat.footerMagic)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(major).littleEndian, toByteOffset: 8, as: UInt16.self)
            raw.storeBytes(of: UInt16(minor).littleEndian, toByteOffset: 10, as: UInt16.self)
            raw.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: UInt64(headerOffset).littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: UInt64(headerLength).littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: headerCRC.littleEndian, toByteOffset: 32, as: UInt32.self)
            let crc = CRC32.of(UnsafeRawBufferPointer(rebasing: raw[0..<60]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        return bytes
    }

    /// Parses the last 64 bytes. Offsets are checked against the file by the caller.
    static func decode(_ raw: UnsafeRawBufferPointer, file: String, at position: Int) throws -> Footer {
        guard raw.count == MoltFormat.footerSize else { throw MoltError.badInput("truncated footer", file: file, offset: position) }
        guard raw.prefix(8).elementsEqual(MoltFormat.footerMagic) else {
            throw MoltError.badInput("no Molt footer at the end of the file: truncated, or never finished", file: file, offset: position)
        }
        let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        let computed = CRC32.of(UnsafeRawBufferPointer(rebasing: raw[0..<60]))
        guard stored == computed else {
            throw MoltError.badInput("footer is corrupt (crc32 \(hex(computed)), stored \(hex(stored)))", file: file, offset: position)
        }
        let headerOffset = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let headerLength = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        guard headerOffset <= UInt64(Int.max), headerLength <= UInt64(Int.max) else {
            throw MoltError.badInput("footer's header offset \(headerOffset) or length \(headerLength) is out of range", file: file, offset: position + 16)
        }
        return Footer(
            major: Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self))),
            minor: Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self))),
            flags: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
            headerOffset: Int(headerOffset), headerLength: Int(headerLength),
            headerCRC: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 32, as: UInt32.self)))
    }
}

enum Preamble {
    static func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: MoltFormat.preambleSize)
        bytes.replaceSubrange(0..<8, with: MoltFormat.preambleMagic)
        bytes[8] = UInt8(MoltFormat.majorVersion & 0xFF)
        bytes[9] = UInt8(MoltFormat.majorVersion >> 8)
        bytes[10] = UInt8(MoltFormat.minorVersion & 0xFF)
        bytes[11] = UInt8(MoltFormat.minorVersion >> 8)
        return bytes
    }

    /// The (major, minor) version of a valid preamble.
    static func decode(_ raw: UnsafeRawBufferPointer, file: String) throws -> (major: Int, minor: Int) {
        guard raw.count >= MoltFormat.preambleSize, raw.prefix(8).elementsEqual(MoltFormat.preambleMagic) else {
            throw MoltError.badInput("not a Molt file (bad magic)", file: file, offset: 0)
        }
        return (Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self))),
                Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self))))
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
