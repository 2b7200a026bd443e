import MoltCore
import MoltTestSupport
import Testing

/// CRC-32 one bit at a time (reflected, polynomial 0xEDB88320): the definition, sharing no code
/// with zlib's tables or the carry-less folds.
private func bitwiseCRC32(_ crc: UInt32, _ bytes: ArraySlice<UInt8>) -> UInt32 {
    var value = ~crc
    for byte in bytes {
        value ^= UInt32(byte)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1 }
    }
    return ~value
}

private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
}

@Test func crc32KnownValue() {
    let crc = Array("123456789".utf8).withUnsafeBytes { CRC32.of($0) }
    #expect(crc == 0xCBF4_3926)
}

/// Every fold this CPU has against the definition: lengths around the fold's threshold and
/// block sizes (so the table-driven head and tail both run), unaligned starts, a running crc.
@Test(arguments: CRC32.Path.supported) func crc32PathsAgreeWithTheDefinition(path: CRC32.Path) {
    let bytes = randomBytes(70_000, seed: 12)
    var random = SplitMix64(seed: UInt64(path.rawValue))
    var cases: [(start: Int, count: Int)] = [(0, 0), (3, 1), (0, 1023), (1, 1024), (5, 1025), (7, 1279), (0, 2048), (9, 65_536 + 77)]
    for _ in 0..<40 { cases.append((Int(random.next() % 64), 1000 + Int(random.next() % 9000))) }
    bytes.withUnsafeBytes { raw in
        for (start, count) in cases {
            let initial = UInt32(truncatingIfNeeded: random.next())
            let folded = CRC32.update(initial, UnsafeRawBufferPointer(rebasing: raw[start..<start + count]), path: path)
            #expect(folded == bitwiseCRC32(initial, bytes[start..<start + count]), "\(path) start \(start) count \(count)")
        }
    }
}

/// One read for the SHA-256 and any ranges' CRC-32s gives what separate passes give: ranges
/// across the 256 KiB slices, overlapping, nested, empty, the whole file, out of order.
@Test func fileDigestMatchesSeparatePasses() throws {
    let scratch = try ScratchDirectory()
    let bytes = randomBytes(700_001, seed: 7)
    let file = try scratch.map(bytes)
    let ranges = [600_000..<700_001, 0..<700_001, 10..<262_200, 262_100..<262_200, 5..<5, 300_000..<600_000, 262_144..<524_288, 0..<1]
    let digest = file.digest(crc32Of: ranges)
    let expected = bytes.withUnsafeBytes { raw in ranges.map { CRC32.of(UnsafeRawBufferPointer(rebasing: raw[$0])) } }
    #expect(digest.crc32s == expected)
    #expect(digest.sha256 == bytes.withUnsafeBytes { SHA256Hasher.hex($0) })
    #expect(file.sha256() == digest.sha256)
}
