import Foundation
import MoltCheckpoint
import MoltCore
import MoltTestSupport
import Testing

private func sniff(_ bytes: [UInt8]) throws -> SourceFormat {
    try SourceFormat.sniff(ScratchDirectory().map(bytes))
}

@Test func safetensorsWhoseLengthLooksLikeAPickleIsStillSafetensors() throws {
    // A header length of 0x0380 starts with 0x80 0x03, the bytes of a protocol-3 PROTO opcode.
    var bytes: [UInt8] = [0x80, 0x03, 0, 0, 0, 0, 0, 0, UInt8(ascii: "{")]
    bytes += [UInt8](repeating: 0x20, count: 0x380 - 1)
    #expect(try sniff(bytes) == .safetensors)
}

@Test func formatsAreToldApartByTheirFirstBytes() throws {
    #expect(try sniff([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 20)) == .torchZip)
    #expect(try sniff([0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 20)) == .torchLegacy)
    var tar = [UInt8](repeating: 0, count: 300)
    tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
    #expect(throws: MoltError.self) { try sniff(tar) }
    #expect(throws: MoltError.self) { try sniff(Array("hello, world".utf8)) }
    #expect(throws: MoltError.self) { try sniff([]) }
}
