import CMoltSystem
import CZlib
import Dispatch

/// CRC-32 with zlib's polynomial: the checksum of zip entries and of .molt tensors alike.
/// Long inputs are folded by carry-less multiplication (crc32_fold.c), ten times zlib's
/// table-driven speed where the CPU has PCLMULQDQ; zlib's crc32 does the rest and the short.
public enum CRC32 {
    /// How long inputs are folded, each needing the ones before it on the CPU.
    public enum Path: Int, CaseIterable, Sendable, CustomStringConvertible {
        /// zlib's crc32 alone.
        case table
        /// PCLMULQDQ on 16-byte lanes.
        case xmm
        /// VPCLMULQDQ on 32-byte lanes (AVX2).
        case ymm
        /// VPCLMULQDQ on 64-byte lanes (AVX-512).
        case zmm

        /// The widest path this CPU supports.
        public static let best = Path(rawValue: Int(molt_crc32_best_path().rawValue)) ?? .table

        /// The paths this CPU supports, `table` first.
        public static var supported: [Path] { allCases.filter { $0.rawValue <= best.rawValue } }

        public var description: String { ["table", "pclmul", "vpclmul-avx2", "vpclmul-avx512"][rawValue] }
    }

    /// Shorter inputs go to zlib whole: the fold's setup and the 128-256 bytes of state it leaves
    /// for zlib would cost more than they save.
    static let foldedMinimum = 1024

    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, path: Path = .best) -> UInt32 {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
        var remaining = bytes.count
        var value = UInt(crc)
        let cPath = molt_crc32_path(rawValue: UInt32(path.rawValue))
        let block = molt_crc32_block_size(cPath)
        if block > 0, remaining >= foldedMinimum {
            let blocks = remaining / block
            withUnsafeTemporaryAllocation(byteCount: 256, alignment: 64) { state in
                let stateBytes = state.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let written = molt_crc32_fold(cPath, UInt32(truncatingIfNeeded: value), p, blocks, stateBytes)
                guard written > 0 else { return }
                value = crc32(0xffff_ffff, stateBytes, UInt32(written))
                p += blocks * block
                remaining -= blocks * block
            }
        }
        while remaining > 0 {
            // zlib takes 32-bit lengths.
            let n = min(remaining, 1 << 30)
            value = crc32(value, p, UInt32(n))
            p += n
            remaining -= n
        }
        return UInt32(truncatingIfNeeded: value)
    }
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt32 { update(0, bytes) }

    /// The crc32 of `a` followed by `b`, from their separate crcs: O(log length) work.
    public static func combine(_ a: UInt32, _ b: UInt32, lengthOfB: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(a), UInt(b), Int(lengthOfB)))
    }

    /// The same value as `of`, computed on all cores over pieces of `pieceSize` bytes.
    public static func parallel(_ bytes: UnsafeRawBufferPointer, pieceSize: Int = 16 << 20) -> UInt32 {
        let pieces = max(1, (bytes.count + pieceSize - 1) / pieceSize)
        if pieces == 1 { return of(bytes) }
        var crcs = [UInt32](repeating: 0, count: pieces)
        crcs.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendable(out)
            let bytes = UncheckedSendable(bytes)
            DispatchQueue.concurrentPerform(iterations: pieces) { i in
                let start = i * pieceSize, end = min(start + pieceSize, bytes.value.count)
                out.value[i] = of(UnsafeRawBufferPointer(rebasing: bytes.value[start..<end]))
            }
        }
        var crc = crcs[0]
        for i in 1..<pieces {
            crc = combine(crc, crcs[i], lengthOfB: min(pieceSize, bytes.count - i * pieceSize))
        }
        return crc
    }
}
