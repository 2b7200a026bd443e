/// The BPE model: a word's bytes start as one token each, then the adjacent pair with the
/// lowest merge rank is merged, leftmost first among equal ranks, until no adjacent pair has a
/// merge. This is Hugging Face's order exactly; a priority queue keeps it O(n log n) so that
/// one enormous word (a megabyte of letters is a single pre-token) cannot stall encoding.
struct BytePairModel: Sendable {
    /// The id of the token spelling each single byte; -1 for bytes UTF-8 never uses.
    let byteIDs: [Int32]
    let merges: MergeTable
    /// With `ignore_merges`, a word that is itself a vocabulary token is taken whole; keyed by
    /// the token's bytes. Nil when the file does not ask for it.
    let wholeWords: [[UInt8]: Int32]?

    func encode(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let n = word.count
        guard n > 0 else { return }
        if let wholeWords, let id = wholeWords[Array(word)] {
            out.append(id)
            return
        }
        if n == 1 {
            out.append(byteIDs[Int(word[0])])
            return
        }
        var ids = word.map { byteIDs[Int($0)] }
        // Symbols form a linked list; a merged-away symbol gets id -1.
        var previous = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var queue = MinHeap()
        for i in 0..<n - 1 {
            if let merge = merges.lookup(ids[i], ids[i + 1]) { queue.push(entry(merge, at: i)) }
        }
        while let top = queue.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let right = Int(next[position])
            // Entries go stale when a neighbour merges first; the rank identifies the pair.
            guard ids[position] >= 0, right >= 0,
                let merge = merges.lookup(ids[position], ids[right]), merge >> 32 == top >> 32
            else { continue }
            ids[position] = Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF)
            ids[right] = -1
            let after = next[right]
            next[position] = after
            if after >= 0 { previous[Int(after)] = Int32(position) }
            let before = Int(previous[position])
            if before >= 0, let m = merges.lookup(ids[before], ids[position]) { queue.push(entry(m, at: before)) }
            if after >= 0, let m = merges.lookup(ids[position], ids[Int(after)]) { queue.push(entry(m, at: position)) }
        }
        var i = 0
        while i >= 0 {
            out.append(ids[i])
            i = Int(next[i])
        }
    }

    /// Queue order is rank, then position: the packed value compares that way.
    @inline(__always)
    private func entry(_ merge: UInt64, at position: Int) -> UInt64 {
        merge & 0xFFFF_FFFF_0000_0000 | UInt64(position)
    }
}

/// A binary min-heap of packed (rank, position) values.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ value: UInt64) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let smaller = right < items.count && items[right] < items[left] ? right : left
            guard items[smaller] < items[parent] else { break }
            items.swapAt(smaller, parent)
            parent = smaller
        }
        return top
    }
}
