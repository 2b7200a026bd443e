extension Tensor {
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
