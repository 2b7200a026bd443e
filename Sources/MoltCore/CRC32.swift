import CZlib
import Dispatch

/// zlib's crc32 over buffers of any size (zlib takes 32-bit lengths): the checksum of zip
/// entries and of .molt tensors alike.
public enum CRC32 {
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
        var remaining = bytes.count
        var value = UInt(crc)
        while remaining > 0 {
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
