import CMoltSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to a file descriptor the caller owns. Small writes are gathered so many
/// tiny tensors do not each cost a system call; spans at least as large as the buffer go
/// straight to write(2), so copying a multi-gigabyte tensor never passes through memcpy.
public final class DescriptorWriter {
    public static let bufferSize = 8 << 20

    public let fd: Int32
    /// Named in error messages.
    public let path: String
    private var buffer: UnsafeMutableRawBufferPointer?
    private var buffered = 0
    /// Bytes written so far, buffered ones included: where the next write lands.
    public private(set) var offset = 0

    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        offset += bytes.count
        if bytes.count >= DescriptorWriter.bufferSize {
            try flush()
            try writeAll(bytes)
            return
        }
        if buffered + bytes.count > DescriptorWriter.bufferSize { try flush() }
        let buffer = self.buffer ?? allocateBuffer()
        UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<buffered + bytes.count]).copyMemory(from: bytes)
        buffered += bytes.count
    }

    /// Appends `range` of `source` by copying inside the kernel, which is what makes `cp`
    /// fast: the bytes are never mapped into this process. Falls back to write(2) from the
    /// mapping where the file systems cannot do that.
    public func copy(from source: MappedFile, range: Range<Int>) throws {
        try flush()
        offset += range.count
        var offset = Int64(range.lowerBound)
        let end = Int64(range.upperBound)
        while offset < end {
            let n = molt_copy_file_range(source.descriptor, &offset, fd, Int(min(end - offset, 1 << 30)))
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(errno) || n == 0 {
                try writeAll(UnsafeRawBufferPointer(rebasing: source.bytes[Int(offset)..<Int(end)]))
                return
            }
            throw MoltError(.io, "\(path): cannot copy from \(source.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Cuts the file back to `length` bytes; later writes continue from there.
    public func truncate(to length: Int) throws {
        try flush()
        guard ftruncate(fd, off_t(length)) == 0, lseek(fd, off_t(length), SEEK_SET) == off_t(length) else {
            throw MoltError(.io, "\(path): cannot truncate to \(length) bytes: \(String(cString: strerror(errno)))")
        }
        offset = length
    }

    /// Writes out what is buffered; the descriptor stays open.
    public func flush() throws {
        guard let buffer, buffered > 0 else { return }
        let pending = buffered
        buffered = 0
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<pending]))
    }

    private func allocateBuffer() -> UnsafeMutableRawBufferPointer {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: DescriptorWriter.bufferSize, alignment: 64)
        buffer = memory
        return memory
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            // write(2) may stop short (signals, Linux's ~2 GiB cap per call): keep going.
            let n = systemWrite(fd, next, remaining)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "no progress"
                throw MoltError(.io, "\(path): cannot write: \(reason)")
            }
            next += n
            remaining -= n
        }
    }

    deinit {
        buffer?.deallocate()
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// Where streamed output goes: a plain descriptor or a temporary file renamed at the end.
public protocol ByteSink {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func copy(from source: MappedFile, range: Range<Int>) throws
}

extension DescriptorWriter: ByteSink {}
extension AtomicOutput: ByteSink {}
