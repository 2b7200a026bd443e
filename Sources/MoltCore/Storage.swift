import Foundation

/// A run of little-endian element bytes that tensors view: a slice of a mapped file (no copy)
/// or memory Molt owns (inflated zip entries, byte-swapped or converted data).
public final class Storage: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject?
    private let allocation: UnsafeMutableRawBufferPointer?
    /// A check of the bytes (a CRC) put off until someone needs them trusted, because it reads
    /// every byte of what is otherwise never touched (`molt inspect`). Runs at most once.
    private var pendingCheck: ((UnsafeRawBufferPointer) throws -> Void)?
    private var checkFailure: Error?
    private let checkLock = NSLock()

    /// The CRC-32 (zlib's) the source format records for exactly these bytes, if any: a zip
    /// entry's. A copy of the whole storage has this checksum too, once `verifyIntegrity()` holds.
    public let recordedCRC32: UInt32?

    /// A zero-copy view of `range` in `file`; `check`, if given, runs on `verifyIntegrity()`.
    public init(
        file: MappedFile, range: Range<Int>, recordedCRC32: UInt32? = nil, check: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) {
        precondition(range.lowerBound >= 0 && range.upperBound <= file.count)
        bytes = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        owner = file
        allocation = nil
        pendingCheck = check
        self.recordedCRC32 = recordedCRC32
    }

    /// Runs the deferred check, if any, once; later calls repeat its outcome. Safe to call from
    /// several threads.
    public func verifyIntegrity() throws {
        try checkLock.withLock {
            if let check = pendingCheck {
                pendingCheck = nil
                do { try check(bytes) } catch { checkFailure = error }
            }
            if let checkFailure { throw checkFailure }
        }
    }

    /// Fresh 64-byte-aligned memory of `byteCount` bytes, filled by `fill`.
    public init(byteCount: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        do {
            try fill(UnsafeMutableRawBufferPointer(rebasing: memory[0..<byteCount]))
        } catch {
            memory.deallocate()
            throw error
        }
        bytes = UnsafeRawBufferPointer(rebasing: memory[0..<byteCount])
        owner = nil
        allocation = memory
        recordedCRC32 = nil
    }

    public convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(byteCount: source.count) { $0.copyMemory(from: source) }
    }

    public var count: Int { bytes.count }

    /// The mapped file behind this storage, when it is a zero-copy view.
    public var mappedFile: MappedFile? { owner as? MappedFile }

    deinit {
        allocation?.deallocate()
    }
}
