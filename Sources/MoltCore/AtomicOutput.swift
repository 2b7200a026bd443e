#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file written under a temporary name in its destination directory and renamed into place
/// only by `commit()`, so an interrupted or failed export never leaves a partial file under
/// the name the user asked for. Any error, `abandon()` or dropping the object unlinks the
/// temporary file.
///
/// Durable as well: `commit()` fsyncs the file before the rename and the directory after it,
/// so after a power cut the path holds either what was there before or the complete new file,
/// never a renamed file whose data never reached the disk (ext4 and XFS may otherwise
/// persist the rename first). Formats/safetensors.md, "Atomic, durable output".
public final class AtomicOutput {
    public let path: String
    public let temporaryPath: String
    private let overwrite: Bool
    private let writer: DescriptorWriter
    private var isOpen = true

    public init(path: String, overwrite: Bool) throws {
        let slash = path.lastIndex(of: "/")
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else {
            throw MoltError(.usage, "\(path): not a file name")
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) != S_IFDIR else { throw MoltError(.usage, "\(path) is a directory") }
            guard overwrite else { throw MoltError.outputExists(path: path) }
        }
        let directory = slash.map { String(path[...$0]) } ?? ""
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let temporaryPath = "\(directory).\(name).molt-tmp-\(getpid())-\(suffix)"
        // Registered before it exists, so a signal arriving during open() still finds it.
        AtomicOutput.registry.insert(temporaryPath)
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            AtomicOutput.registry.remove(temporaryPath)
            throw MoltError(.io, "\(path): cannot create \(temporaryPath): \(reason)")
        }
        self.path = path
        self.temporaryPath = temporaryPath
        self.overwrite = overwrite
        writer = DescriptorWriter(fd: fd, path: path)
    }

    /// Fails as `init` would for `path` (it exists without `overwrite`, or its directory cannot
    /// be written), leaving nothing behind: for an output made later by other means.
    public static func check(path: String, overwrite: Bool) throws {
        try AtomicOutput(path: path, overwrite: overwrite).abandon()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writing { try writer.write(bytes) }
    }

    /// Appends `range` of a mapped file, copied inside the kernel where possible.
    public func copy(from source: MappedFile, range: Range<Int>) throws {
        try writing { try writer.copy(from: source, range: range) }
    }

    /// Bytes written so far.
    public var offset: Int { writer.offset }

    public func truncate(to length: Int) throws {
        try writing { try writer.truncate(to: length) }
    }

    /// Writes out buffered bytes, so the temporary file can be read back before `commit`.
    public func flush() throws {
        try writing { try writer.flush() }
    }

    /// Flushes what is written so far to disk, so `commit()`'s fsync has only what follows left
    /// to write: for a caller that must wait for other work anyway (a conversion waiting for the
    /// source's hash on the other core), which then overlaps the two.
    public func syncWritten() throws {
        try writing {
            try writer.flush()
            guard fsync(writer.fd) == 0 else { throw ioError("cannot sync") }
        }
    }

    private func writing(_ body: () throws -> Void) throws {
        guard isOpen else { throw MoltError(.usage, "\(path): output already finished") }
        do {
            try body()
        } catch {
            abandon()
            throw error
        }
    }

    /// Moves the unfinished output to `other` (replacing what is there) instead of `path`: for
    /// keeping a conversion that failed verification, for study.
    public func keep(at other: String) throws {
        try writing { try writer.flush() }
        isOpen = false
        close(writer.fd)
        guard rename(temporaryPath, other) == 0 else {
            let error = ioError("cannot rename \(temporaryPath) to")
            discardTemporaryFile()
            throw MoltError(.io, error.message.replacingOccurrences(of: path, with: other))
        }
        AtomicOutput.registry.remove(temporaryPath)
    }

    /// Moves the finished file to `path`. Without `overwrite`, a file that appeared at `path`
    /// since `init` is still not replaced.
    public func commit() throws {
        guard isOpen else { throw MoltError(.usage, "\(path): output already finished") }
        do {
            try writer.flush()
        } catch {
            abandon()
            throw error
        }
        isOpen = false
        do {
            guard fsync(writer.fd) == 0 else {
                let error = ioError("cannot sync")
                close(writer.fd)
                throw error
            }
            // close(2) is where some file systems (NFS) first report a failed write.
            guard close(writer.fd) == 0 else { throw ioError("cannot write") }
            try moveIntoPlace()
            try syncDirectory()
        } catch {
            discardTemporaryFile()
            throw error
        }
        AtomicOutput.registry.remove(temporaryPath)
    }

    /// Closes and unlinks the temporary file; does nothing once committed or abandoned.
    public func abandon() {
        guard isOpen else { return }
        isOpen = false
        close(writer.fd)
        discardTemporaryFile()
    }

    /// Unlinks every temporary file not yet committed or abandoned, for a SIGINT/SIGTERM
    /// handler that is about to exit the process.
    public static func removeAllTemporaryFiles() {
        for temporaryPath in registry.removeAll() { unlink(temporaryPath) }
    }

    deinit {
        abandon()
    }

    private func moveIntoPlace() throws {
        if overwrite {
            guard rename(temporaryPath, path) == 0 else { throw ioError("cannot rename \(temporaryPath) to") }
            return
        }
        // link(2) fails with EEXIST instead of replacing, closing the race rename(2) leaves.
        if link(temporaryPath, path) == 0 {
            unlink(temporaryPath)
            return
        }
        if errno == EEXIST { throw MoltError.outputExists(path: path) }
        // Some file systems have no hard links: fall back to check-then-rename.
        var info = stat()
        if lstat(path, &info) == 0 { throw MoltError.outputExists(path: path) }
        guard rename(temporaryPath, path) == 0 else { throw ioError("cannot rename \(temporaryPath) to") }
    }

    /// Makes the rename itself durable. The file is already in place: a failure here is
    /// reported, and the file left where it is (it is complete).
    private func syncDirectory() throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw MoltError(.io, "\(directory): cannot open to sync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw MoltError(.io, "\(directory): cannot sync: \(String(cString: strerror(errno)))") }
    }

    private func discardTemporaryFile() {
        unlink(temporaryPath)
        AtomicOutput.registry.remove(temporaryPath)
    }

    private func ioError(_ what: String) -> MoltError {
        MoltError(.io, "\(what) \(path): \(String(cString: strerror(errno)))")
    }

    private static let registry = TemporaryPathRegistry()
}

/// The process-wide set of temporary paths that still exist.
private final class TemporaryPathRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var paths = Set<String>()

    func insert(_ path: String) { lock.withLock { _ = paths.insert(path) } }

    func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }

    func removeAll() -> Set<String> {
        lock.withLock {
            defer { paths.removeAll() }
            return paths
        }
    }
}
