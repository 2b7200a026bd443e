import MoltCore

/// Bytes of an untrusted archive whose bounds were checked when the value was made, so fields
/// at constant offsets below the record's known size are read without further checks.
struct ZipRecord {
    let bytes: UnsafeRawBufferPointer
    /// Where the record starts in the file, for error messages.
    let offset: Int
    let path: String

    /// The `size` bytes at `offset` in `file`; "truncated" when they run past its end.
    init(_ file: MappedFile, at offset: Int, size: Int, what: @autoclosure () -> String) throws {
        let end = offset.addingReportingOverflow(size)
        guard offset >= 0, size >= 0, !end.overflow, end.partialValue <= file.count else {
            throw MoltError.badInput(
                "\(what()) (\(size) bytes) runs past the end of the file (\(file.count) bytes): truncated",
                file: file.path, offset: offset)
        }
        self.init(bytes: UnsafeRawBufferPointer(rebasing: file.bytes[offset..<end.partialValue]), offset: offset, path: file.path)
    }

    private init(bytes: UnsafeRawBufferPointer, offset: Int, path: String) {
        self.bytes = bytes
        self.offset = offset
        self.path = path
    }

    var count: Int { bytes.count }

    /// The `size` bytes `at` bytes into this record, which must hold them.
    func slice(at: Int, size: Int, _ what: @autoclosure () -> String, within container: @autoclosure () -> String) throws -> ZipRecord {
        let end = at.addingReportingOverflow(size)
        guard at >= 0, size >= 0, !end.overflow, end.partialValue <= bytes.count else {
            throw MoltError.badInput(
                "\(what()) (\(size) bytes) runs past the end of the \(container())", file: path, offset: offset &+ at)
        }
        return ZipRecord(bytes: UnsafeRawBufferPointer(rebasing: bytes[at..<end.partialValue]), offset: offset + at, path: path)
    }

    func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }

    func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }

    func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }

    func error(_ message: String, at: Int = 0) -> MoltError {
        MoltError.badInput(message, file: path, offset: offset &+ at)
    }
}
