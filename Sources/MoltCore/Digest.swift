import Foundation

extension Tensor {
    /// SHA-256 of the values as contiguous little-endian bytes: what the fixture script
    /// records from PyTorch for every tensor.
    public func sha256() -> String {
        withContiguousBytes { raw in SHA256Hasher.hex(raw) }
    }
}

extension Sequence where Element == UInt8 {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Data {
    /// Lowercase hex SHA-256 of the bytes.
    public var sha256Hex: String { withUnsafeBytes { SHA256Hasher.hex($0) } }
}
