#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoltCore

/// Where a writer's bytes go. The writer only appends, and cuts back when it replaces the
/// trailer. A plain file descriptor is one sink; an atomic temp-then-rename output is another.
public protocol OutputSink: AnyObject {
    /// Bytes in the output so far: where the next write lands.
    var offset: Int { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Cuts the output back to `offset` bytes; later writes continue from there.
    func truncate(to offset: Int) throws
    /// Appends `range` of `source`: inside the kernel where the sink can.
    func copy(from source: MappedFile, range: Range<Int>) throws
}

extension OutputSink {
    public func copy(from source: MappedFile, range: Range<Int>) throws {
        try write(UnsafeRawBufferPointer(rebasing: source.bytes[range]))
    }
}

/// A sink over a file descriptor, writing with pwrite at its own offset.
public final class FileDescriptorSink: OutputSink {
    public let fd: Int32
    public let path: String
    public private(set) var offset: Int
    private let ownsDescriptor: Bool

    /// Writes to `fd` from `offset` on; the caller keeps ownership of `fd`.
    public init(fd: Int32, path: String, offset: Int = 0) {
        self.fd = fd
        self.path = path
        self.offset = offset
        ownsDescriptor = false
    }

    /// Creates `path`, which must not exist, and closes it when the sink goes away.
    public init(creating path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MoltError(.io, "\(path): cannot create: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
        offset = 0
        ownsDescriptor = true
    }

    /// Opens an existing `path` for rewriting, positioned at `offset`.
    public init(rewriting path: String, at offset: Int) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MoltError(.io, "\(path): cannot open for writing: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
        self.offset = offset
        ownsDescriptor = true
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw MoltError(.io, "\(path): write failed at byte \(offset + done): \(String(cString: strerror(errno)))")
            }
            done += n
        }
        offset += done
    }

    public func truncate(to offset: Int) throws {
        guard ftruncate(fd, off_t(offset)) == 0 else {
            throw MoltError(.io, "\(path): cannot truncate to \(offset) bytes: \(String(cString: strerror(errno)))")
        }
        self.offset = offset
    }

    /// Flushes the file to disk.
    public func sync() throws {
        guard fsync(fd) == 0 else { throw MoltError(.io, "\(path): fsync failed: \(String(cString: strerror(errno)))") }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }
}

/// A .molt written under a temporary name and renamed into place when verified.
extension AtomicOutput: OutputSink {}
