extension MappedFile {
    /// SHA-256 of the whole file, read in slices that are dropped from memory once hashed so
    /// hashing a file larger than memory keeps resident memory flat.
    public func sha256() -> String {
        digest(crc32Of: []).sha256
    }

    /// SHA-256 of the whole file and the CRC-32 of each of `ranges`, in one sequential read:
    /// each slice is hashed, then summed for the ranges it overlaps while it is still in the
    /// cache, so every byte comes from memory once (BENCHMARKS.md, "Lossless conversion").
    public func digest(crc32Of ranges: [Range<Int>]) -> (sha256: String, crc32s: [UInt32]) {
        precondition(ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= count })
        let hasher = SHA256Hasher()
        var crcs = [UInt32](repeating: 0, count: ranges.count)
        let order = ranges.indices.sorted { ranges[$0].lowerBound < ranges[$1].lowerBound }
        // Ranges before `first` end before the current slice.
        var first = 0
        // A slice stays in the core's L2 between the two reads; pages are dropped 64 MiB at a time.
        let slice = 256 << 10, releaseStride = 64 << 20
        var released = 0
        var start = 0
        while start < count {
            let end = min(count, start + slice)
            hasher.update(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            var k = first
            while k < order.count, ranges[order[k]].lowerBound < end {
                let range = ranges[order[k]]
                let lower = max(range.lowerBound, start), upper = min(range.upperBound, end)
                if lower < upper { crcs[order[k]] = CRC32.update(crcs[order[k]], UnsafeRawBufferPointer(rebasing: bytes[lower..<upper])) }
                k += 1
            }
            while first < order.count, ranges[order[first]].upperBound <= end { first += 1 }
            if end - released >= releaseStride || end == count {
                release(released..<end)
                released = end
            }
            start = end
        }
        return (hasher.finalizeHex(), crcs)
    }
}
