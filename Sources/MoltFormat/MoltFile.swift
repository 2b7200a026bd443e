import Foundation
import MoltCore
import MoltQuant

/// A validated, memory-mapped .molt file. Opening reads the footer and header only (plus the
/// zstd-compressed entries, which are inflated into owned memory); every other tensor is a
/// zero-copy view of the mapping. Checksums are verified on demand (`verifyChecksums`), or
/// in the background while the file is used (`ChecksumCheck`).
public final class MoltFile: @unchecked Sendable {
    public let path: String
    public let header: MoltHeader
    public let config: BlackMambaConfig
    public let majorVersion: Int
    public let minorVersion: Int
    public let flags: UInt32
    /// Where the header starts: the end of the data section.
    public let headerOffset: Int

    private let file: MappedFile
    private let tensorIndex: [String: Int]
    private let tensorBytes: [Storage]
    private let blobBytes: [String: Storage]

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        let bytes = file.bytes
        let minimum = MoltFormat.preambleSize + MoltFormat.footerSize
        guard bytes.count >= minimum else {
            throw MoltError.badInput("truncated: \(bytes.count) bytes, a Molt file has at least \(minimum)", file: path)
        }

        let preamble = try Preamble.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<MoltFormat.preambleSize]), file: path)
        try MoltFile.checkVersion(preamble.major, preamble.minor, file: path, offset: 8)
        let footerStart = bytes.count - MoltFormat.footerSize
        let footer = try Footer.decode(UnsafeRawBufferPointer(rebasing: bytes[footerStart...]), file: path, at: footerStart)
        try MoltFile.checkVersion(footer.major, footer.minor, file: path, offset: footerStart + 8)
        guard footer.major == preamble.major, footer.minor == preamble.minor else {
            throw MoltError.badInput("footer says version \(footer.major).\(footer.minor), preamble \(preamble.major).\(preamble.minor)", file: path, offset: footerStart + 8)
        }
        let unknown = footer.flags & MoltFormat.requiredFlagsMask & ~MoltFormat.knownRequiredFlags
        guard unknown == 0 else {
            throw MoltError.unsupported("needs features this reader lacks (required flags 0x\(String(unknown, radix: 16)))", file: path)
        }
        majorVersion = footer.major
        minorVersion = footer.minor
        flags = footer.flags

        // The header sits exactly between the data section and the footer.
        guard footer.headerOffset >= MoltFormat.preambleSize, footer.headerLength > 0, footer.headerLength <= MoltFormat.maxHeaderLength,
            try Checked.add(footer.headerOffset, footer.headerLength, what: "header end") == footerStart
        else {
            throw MoltError.badInput(
                "footer places the header at [\(footer.headerOffset), +\(footer.headerLength)), it must end at the footer (\(footerStart))",
                file: path, offset: footerStart + 16)
        }
        headerOffset = footer.headerOffset
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[footer.headerOffset..<footerStart])
        let crc = CRC32.of(headerBytes)
        guard crc == footer.headerCRC else {
            throw MoltError.badInput("header is corrupt (crc32 \(hex(crc)), footer says \(hex(footer.headerCRC)))", file: path, offset: footer.headerOffset)
        }
        let header = try MoltFile.parseHeader(headerBytes, file: path, offset: footer.headerOffset)
        guard header.formatVersion == "\(footer.major).\(footer.minor)" else {
            throw MoltError.badInput("header says format_version \(header.formatVersion), footer \(footer.major).\(footer.minor)", file: path, offset: footer.headerOffset)
        }
        config = try HeaderValidator(file: path, header: header, flags: footer.flags, dataEnd: footer.headerOffset).validate()
        self.header = header

        // Validated: every range is inside the file. Compressed entries are inflated now.
        func storage(_ label: String, _ offset: Int, _ length: Int, _ compression: Compression?) throws -> Storage {
            let view = Storage(file: file, range: offset..<offset + length)
            guard let compression else { return view }
            do {
                return try Zstd.decompress(view.bytes, expected: compression.uncompressedLength)
            } catch let error as MoltError {
                throw MoltError.badInput("\(label): \(error.message)", file: path, offset: offset)
            }
        }
        var index: [String: Int] = [:]
        var tensorBytes: [Storage] = []
        for (i, entry) in header.tensors.enumerated() {
            index[entry.name] = i
            tensorBytes.append(try storage("tensor \(quoted(entry.name))", entry.offset, entry.length, entry.compression))
        }
        var blobBytes: [String: Storage] = [:]
        for blob in header.blobs { blobBytes[blob.name] = try storage("blob \(quoted(blob.name))", blob.offset, blob.length, blob.compression) }
        tensorIndex = index
        self.tensorBytes = tensorBytes
        self.blobBytes = blobBytes
    }

    private static func checkVersion(_ major: Int, _ minor: Int, file: String, offset: Int) throws {
        guard major == MoltFormat.majorVersion else {
            throw MoltError.badInput(
                "file is Molt format \(major).\(minor); this reader reads \(MoltFormat.majorVersion).x", file: file, offset: offset)
        }
    }

    /// The header through the strict JSON parser (duplicate keys refused, nesting bounded,
    /// byte offsets in syntax errors), then into typed fields.
    private static func parseHeader(_ bytes: UnsafeRawBufferPointer, file: String, offset: Int) throws -> MoltHeader {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw MoltError.badInput("header is not valid UTF-8", file: file, offset: offset)
        }
        let json = try JSON.parse(strict: bytes) { message, at in
            MoltError.badInput("header: \(message)", file: file, offset: offset + at)
        }
        do {
            return try JSONValueDecoder().decode(MoltHeader.self, from: json)
        } catch let error as MoltError {
            throw error.within("\(file): byte \(offset)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw MoltError.badInput("header has no \(quoted(pathString(context.codingPath + [key])))", file: file, offset: offset)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw MoltError.badInput("header field \(quoted(pathString(context.codingPath))) has the wrong type", file: file, offset: offset)
        } catch let DecodingError.dataCorrupted(context) {
            throw MoltError.badInput("header field \(quoted(pathString(context.codingPath))) has a bad value", file: file, offset: offset)
        }
    }

    private static func pathString(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop(while: { $0 == "." }).description
    }

    // MARK: - Access

    /// Tensor names in file order.
    public var tensorNames: [String] { header.tensors.map(\.name) }

    public func entry(_ name: String) -> MoltTensorEntry? { tensorIndex[name].map { header.tensors[$0] } }

    private func lookup(_ name: String) throws -> (entry: MoltTensorEntry, bytes: Storage) {
        guard let i = tensorIndex[name] else { throw MoltError(.usage, "\(path): no tensor \(quoted(name))") }
        return (header.tensors[i], tensorBytes[i])
    }

    /// The stored (decompressed) bytes of a tensor and their type.
    public func raw(_ name: String) throws -> (type: MoltTensorType, bytes: Storage) {
        let (entry, bytes) = try lookup(name)
        return (entry.type, bytes)
    }

    /// An f32, f16 or bf16 tensor as a Tensor over the file's bytes (no copy).
    public func tensor(_ name: String) throws -> Tensor {
        let (entry, bytes) = try lookup(name)
        guard let dtype = entry.type.dtype else {
            throw MoltError(.usage, "\(path): tensor \(quoted(name)) is \(entry.type.rawValue): use quantized() or dequantized()")
        }
        return try Tensor(storage: bytes, dtype: dtype, shape: entry.shape)
    }

    /// A q8 or q4 tensor's stored matrix, for kernels.
    public func quantized(_ name: String) throws -> QuantizedMatrix {
        let (entry, bytes) = try lookup(name)
        guard let layout = try entry.layout() else {
            throw MoltError(.usage, "\(path): tensor \(quoted(name)) is \(entry.type.rawValue), not quantized")
        }
        return try QuantizedMatrix(layout: layout, storage: bytes)
    }

    /// Any tensor as f32: q8/q4 dequantized exactly as kernels compute, f16/bf16 widened,
    /// f32 the mapped bytes themselves.
    public func dequantized(_ name: String) throws -> Tensor {
        let entry = try lookup(name).entry
        guard entry.type.quantType != nil else { return try tensor(name).converted(to: .f32) }
        let matrix = try quantized(name)
        let values = Reconstruction.dequantize(matrix)
        let storage = values.withUnsafeBytes { Storage(copying: $0) }
        return try Tensor(storage: storage, dtype: .f32, shape: entry.shape)
    }

    /// A blob's (decompressed) bytes.
    public func blob(_ name: String) throws -> Storage {
        guard let bytes = blobBytes[name] else { throw MoltError(.usage, "\(path): no blob \(quoted(name))") }
        return bytes
    }

    /// The file's mapping, as the kernels read it.
    public var mapping: MappedFile { file }

    /// Puts the mapping on 2 MiB pages for a run (`MappedFile.preferHugePages`): call it before
    /// anything else reads the file, since it may read the file again.
    public func preferHugePages(reread: Bool) -> MappedFile.PageBacking { file.preferHugePages(reread: reread) }

    /// Computes the crc32 of every tensor's and blob's stored bytes (large ones on all cores,
    /// unless `parallel` is false) and throws one error naming every entry that does not match.
    public func verifyChecksums(parallel: Bool = true) throws {
        var mismatches: [String] = []
        func check(_ label: String, _ offset: Int, _ length: Int, _ expected: UInt32) {
            let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[offset..<offset + length])
            let crc = parallel ? CRC32.parallel(bytes) : CRC32.of(bytes)
            if crc != expected { mismatches.append("\(label) at byte \(offset): crc32 \(hex(crc)), header says \(hex(expected))") }
        }
        for entry in header.tensors { check("tensor \(quoted(entry.name))", entry.offset, entry.length, entry.crc32) }
        for blob in header.blobs { check("blob \(quoted(blob.name))", blob.offset, blob.length, blob.crc32) }
        guard mismatches.isEmpty else {
            throw MoltError.badInput(
                "damaged: checksum mismatch: " + mismatches.joined(separator: "; ") + "; copy or convert the file again",
                file: path)
        }
    }
}

extension MoltFile {
    /// The type each tensor is stored as (compare `Converter.storedTypes`).
    public var storedTypes: [String: MoltTensorType] {
        Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.name, $0.type) })
    }
}

extension MoltFile {
    /// The warning for a file whose conversion failed its parity check (kept with
    /// `--keep-failed`, which records the failure in the header); nil otherwise. Every
    /// command that runs a .molt (run, generate, serve, ...) shows it when it loads one.
    public var failedParityWarning: String? {
        guard header.parity["passed"] == .bool(false) else { return nil }
        return "\(path) failed its parity check at conversion (kept with --keep-failed): "
            + "its outputs may differ from the source's"
    }
}
