extension MappedFile {
    /// SHA-256 of the whole file, read in slices that are dropped from memory once hashed so
    /// hashing a file larger than memory keeps resident memory flat.
    public func sha256() -> String {
        let hasher = SHA256Hasher()
        let slice = 64 << 20
        var start = 0
        while start < count {
            let end = min(count, start + slice)
            hasher.update(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            release(start..<end)
            start = end
        }
        return hasher.finalizeHex()
    }
}
