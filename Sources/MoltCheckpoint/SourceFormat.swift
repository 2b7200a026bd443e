import MoltCore

/// The kinds of weight files Molt reads, told apart by their first bytes, never by name.
public enum SourceFormat: String, Sendable, Codable {
    case torchZip = "torch-zip"
    case torchLegacy = "torch-legacy"
    case safetensors
    case torchZipSharded = "torch-zip-sharded"
    case safetensorsSharded = "safetensors-sharded"

    /// Identifies a single weights file from its leading bytes.
    public static func sniff(_ file: MappedFile) throws -> SourceFormat {
        let bytes = file.bytes
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .torchZip }
        if bytes.count >= 262, bytes[257..<262].elementsEqual("ustar".utf8) {
            throw MoltError.unsupported("a tar-format checkpoint (torch <= 0.1.9): re-save it with a current torch", file: file.path)
        }
        // safetensors: a u64 header length, then the JSON object. Checked before the pickle
        // test because a length such as 0x0380 also starts with the PROTO opcode's byte.
        if bytes.count >= 9, bytes[8] == UInt8(ascii: "{") { return .safetensors }
        // Legacy torch files open with a pickle (PROTO opcode) holding the magic number.
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) { return .torchLegacy }
        if bytes.count < 9 {
            throw MoltError.badInput("only \(bytes.count) bytes: truncated or not a checkpoint", file: file.path)
        }
        throw MoltError.badInput(
            "not a checkpoint Molt knows (expected a torch zip, a legacy torch file or safetensors)", file: file.path)
    }
}
