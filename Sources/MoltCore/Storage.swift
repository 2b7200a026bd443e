import Foundation

/// A run of little-endian element bytes that tensors view: a slice of a mapped file (no copy),
/// memory Molt owns (byte-swapped or converted data), or memory filled only when its bytes are
/// first asked for (deflated zip records, so `molt inspect` never inflates tensor data).
public final class Storage: @unchecked Sendable {
    public let count: Int
    private let owner: AnyObject?
    /// Set at init for file views and owned memory; on first use for deferred storages.
    private var ready: UnsafeRawBufferPointer?
    private var allocation: UnsafeMutableRawBufferPointer?
    /// Fills a deferred storage's memory; nil once run (or for the other kinds).
    private var produce: ((UnsafeMutableRawBufferPointer) throws -> Void)?
    /// A check of the bytes (a CRC) put off until someone needs them trusted, because it reads
    /// every byte of what is otherwise never touched (`molt inspect`). Runs at most once.
    private var pendingCheck: ((UnsafeRawBufferPointer) throws -> Void)?
    private var checkFailure: Error?
    private let lock = NSLock()

    /// The CRC-32 (zlib's) the source format records for exactly these bytes, if any: a zip
    /// entry's. A copy of the whole storage has this checksum too, once `verifyIntegrity()` holds.
    public let recordedCRC32: UInt32?

    /// A zero-copy view of `range` in `file`; `check`, if given, runs on `verifyIntegrity()`.
    /// With `recordedCRC32`, `check` must be the check of that CRC: `settleCheck` may then
    /// stand in for it.
    public init(
        file: MappedFile, range: Range<Int>, recordedCRC32: UInt32? = nil, check: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) {
        precondition(range.lowerBound >= 0 && range.upperBound <= file.count)
        ready = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        count = range.count
        owner = file
        pendingCheck = check
        self.recordedCRC32 = recordedCRC32
    }

    /// Fresh 64-byte-aligned memory of `byteCount` bytes, filled by `fill`.
    public init(byteCount: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let memory = Storage.allocate(byteCount)
        do {
            try fill(UnsafeMutableRawBufferPointer(rebasing: memory[0..<byteCount]))
        } catch {
            memory.deallocate()
            throw error
        }
        ready = UnsafeRawBufferPointer(rebasing: memory[0..<byteCount])
        count = byteCount
        owner = nil
        allocation = memory
        recordedCRC32 = nil
    }

    /// `byteCount` bytes that `produce` writes when they are first read, not before. If
    /// `produce` fails, the bytes read as zeros and `verifyIntegrity()` throws its error, so
    /// commands that trust bytes (they all verify before committing output) refuse the input.
    public init(deferredByteCount byteCount: Int, produce: @escaping (UnsafeMutableRawBufferPointer) throws -> Void) {
        count = byteCount
        owner = nil
        self.produce = produce
        recordedCRC32 = nil
    }

    public convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(byteCount: source.count) { $0.copyMemory(from: source) }
    }

    /// The bytes; a deferred storage is filled here on first use.
    public var bytes: UnsafeRawBufferPointer {
        lock.withLock { materialized() }
    }

    private func materialized() -> UnsafeRawBufferPointer {
        if let ready { return ready }
        let memory = Storage.allocate(count)
        let region = UnsafeMutableRawBufferPointer(rebasing: memory[0..<count])
        do {
            try produce?(region)
        } catch {
            region.initializeMemory(as: UInt8.self, repeating: 0)
            checkFailure = error
        }
        produce = nil
        allocation = memory
        let bytes = UnsafeRawBufferPointer(region)
        ready = bytes
        return bytes
    }

    /// Fills a deferred storage and runs the deferred check, if any, once; later calls repeat
    /// the outcome. Safe to call from several threads.
    public func verifyIntegrity() throws {
        try lock.withLock {
            let bytes = materialized()
            if let check = pendingCheck {
                pendingCheck = nil
                do { try check(bytes) } catch { checkFailure = error }
            }
            if let checkFailure { throw checkFailure }
        }
    }

    /// The mapped file behind this storage, when it is a zero-copy view.
    public var mappedFile: MappedFile? { owner as? MappedFile }

    /// Where in its mapped file the bytes are, for a zero-copy view.
    public var fileRange: Range<Int>? {
        guard let file = mappedFile, let fileBase = file.bytes.baseAddress, let base = ready?.baseAddress else { return nil }
        return (base - fileBase)..<(base - fileBase) + count
    }

    /// Whether a deferred check of `recordedCRC32` is still to run.
    public var awaitsCRC32Check: Bool {
        lock.withLock { pendingCheck != nil && recordedCRC32 != nil && checkFailure == nil }
    }

    /// Settles the deferred check with the CRC-32 of these bytes computed elsewhere (in a pass
    /// that reads the file once for several purposes). A match is the check passed; a mismatch
    /// leaves the check pending, so `verifyIntegrity()` runs it and reports the failure as usual.
    public func settleCheck(computedCRC32 crc: UInt32) {
        lock.withLock {
            if pendingCheck != nil, crc == recordedCRC32 { pendingCheck = nil }
        }
    }

    private static func allocate(_ byteCount: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit {
        allocation?.deallocate()
    }
}
