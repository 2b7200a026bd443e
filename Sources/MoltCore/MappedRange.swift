extension Tensor {
    /// Where a contiguous tensor's bytes lie in the file it was mapped from; nil when the
    /// tensor is a strided view or lives in memory Molt owns.
    public var mappedByteRange: (file: MappedFile, range: Range<Int>)? {
        guard isContiguous, let file = storage.mappedFile, let fileBase = file.bytes.baseAddress,
            let base = storage.bytes.baseAddress
        else { return nil }
        let start = (base - fileBase) + offset * dtype.size
        return (file, start..<start + byteCount)
    }

    /// Drops this tensor's pages of a mapped file from memory once they have been read:
    /// streaming a checkpoint larger than memory then keeps resident memory flat.
    public func releaseMappedPages() {
        guard let file = storage.mappedFile, let fileBase = file.bytes.baseAddress,
            let base = storage.bytes.baseAddress
        else { return }
        let start = base - fileBase
        file.release(start..<start + storage.count)
    }
}
