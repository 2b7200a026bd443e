/// Remembers the ids of words already encoded; in running text most words repeat, so most of
/// encoding is this lookup. Keys are compared byte for byte (String equality would treat
/// canonically equivalent words as one, which is wrong without an NFC normalizer). Lookups
/// allocate nothing: keys and ids live in two flat arenas, and the table is emptied when it
/// grows past its limits rather than evicting.
struct WordCache {
    private struct Entry {
        var hash: UInt64
        var keyStart: Int32
        var keyLength: Int32
        var idStart: Int32
        var idCount: Int32
    }

    private static let maxEntries = 1 << 18
    private static let maxArena = 1 << 24
    /// Longer words are rare and would crowd the arenas out.
    static let maxWordLength = 256

    private var slots = [Int32](repeating: -1, count: WordCache.maxEntries * 2)
    private var entries: [Entry] = []
    private var keys: [UInt8] = []
    private var ids: [Int32] = []

    /// Appends the cached ids of `word` to `out`; false when the word is not cached.
    mutating func append(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, to out: inout [Int32]) -> Bool {
        guard let entry = find(word, hash: hash).entry else { return false }
        let e = entries[entry]
        out.append(contentsOf: ids[Int(e.idStart)..<Int(e.idStart + e.idCount)])
        return true
    }

    mutating func insert(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, ids wordIDs: ArraySlice<Int32>) {
        guard word.count <= Self.maxWordLength else { return }
        if entries.count >= Self.maxEntries || keys.count + word.count > Self.maxArena || ids.count + wordIDs.count > Self.maxArena {
            slots = [Int32](repeating: -1, count: slots.count)
            entries.removeAll(keepingCapacity: true)
            keys.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
        }
        let (existing, slot) = find(word, hash: hash)
        guard existing == nil else { return }
        slots[slot] = Int32(entries.count)
        entries.append(Entry(hash: hash, keyStart: Int32(keys.count), keyLength: Int32(word.count), idStart: Int32(ids.count), idCount: Int32(wordIDs.count)))
        keys.append(contentsOf: word)
        ids.append(contentsOf: wordIDs)
    }

    /// The entry holding `word`, or the empty slot where it would go.
    private func find(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64) -> (entry: Int?, slot: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = Int(slots[slot])
            if index < 0 { return (nil, slot) }
            let e = entries[index]
            if e.hash == hash, Int(e.keyLength) == word.count,
                keys.withUnsafeBufferPointer({ k in
                    word.count == 0 || memcmpEqual(k.baseAddress! + Int(e.keyStart), word.baseAddress!, word.count)
                })
            {
                return (index, slot)
            }
            slot = (slot + 1) & mask
        }
    }

    /// FNV-1a, finished with a multiply so the low bits used for the slot are well mixed.
    static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in word { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    for i in 0..<count where a[i] != b[i] { return false }
    return true
}
