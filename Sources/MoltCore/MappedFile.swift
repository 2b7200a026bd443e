import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only. Tensors point into it, so it lives as long as any of them.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    /// Kept open so data can be copied inside the kernel (copy_file_range) without mapping it.
    public let descriptor: Int32

    /// Refuses anything but a regular file. O_NONBLOCK makes opening a FIFO return at once
    /// (a blocking open waits for a writer forever) so fstat can refuse it; on a regular file
    /// the flag changes nothing.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw MoltError(.io, "\(path): cannot open: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw MoltError(.io, "\(path): not a regular file")
        }
        descriptor = fd
        let size = Int(info.st_size)
        if size == 0 {
            // mmap refuses empty ranges; an empty buffer still lets parsers report "truncated".
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            close(fd)
            throw MoltError(.io, "\(path): cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    public var count: Int { bytes.count }

    /// The whole of a small file (a config, an index, a tokenizer) read through the same checks,
    /// refused when it holds more than `limit` bytes.
    public static func contents(of path: String, limit: Int) throws -> Data {
        let file = try MappedFile(path: path)
        guard file.count <= limit else {
            throw MoltError.badInput("\(file.count) bytes, more than the \(limit) allowed for this kind of file", file: path)
        }
        return Data(file.bytes)
    }

    /// Tells the kernel a range will not be read again soon, so streaming through a file larger
    /// than memory does not keep it all resident.
    public func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(bytes.count, range.upperBound)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// Releases the whole mapping's pages, the halves on two threads at once. Tearing down the
    /// page tables of a fully read 3 GB file takes one core about 0.1 s, which a process would
    /// otherwise spend at exit while the other core waits.
    public func releaseAll() {
        let half = bytes.count / 2
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            release(part == 0 ? 0..<half : half..<bytes.count)
        }
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
        close(descriptor)
    }
}
