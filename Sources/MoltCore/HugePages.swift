import CMoltSystem
import Foundation

// Weights on 2 MiB pages (Formats/runtime.md, "Weights on 2 MiB pages"). Decode streams every weight once a
// token; on 4 KiB pages that is a page-table walk every 4 KiB and hardware prefetchers that stop
// at each page's end. A file mapping gets 2 MiB pages only where the page cache holds the file
// in 2 MiB folios, which readahead makes for a mapping advised MADV_HUGEPAGE, and which a file
// written or copied a moment ago is not in.

extension MappedFile {
    /// How the mapping's pages ended up.
    public struct PageBacking: Sendable {
        /// Share of the file's whole 2 MiB units mapped as 2 MiB pages; nil where the kernel
        /// does not say (no /proc, or no transparent huge pages).
        public let hugeShare: Double?
        /// Seconds spent reading the file, or the parts of it on small pages, again onto 2 MiB
        /// pages; nil when nothing was read again.
        public let rereadSeconds: Double?
        /// Bytes read again; nil when nothing was.
        public let rereadBytes: Int?

        init(hugeShare: Double?, rereadSeconds: Double? = nil, rereadBytes: Int? = nil) {
            self.hugeShare = hugeShare
            self.rereadSeconds = rereadSeconds
            self.rereadBytes = rereadBytes
        }
    }

    static let hugePageBytes = 2 << 20

    /// Files smaller than this are not read again: their pages fit within the reach of the
    /// CPU's TLB and caches (a Zen 4's L2 TLB maps 12 MiB of 4 KiB pages, its L3 holds 32 MiB),
    /// so 2 MiB pages would gain them nothing.
    public static let rereadThreshold = 64 << 20

    /// `preferHugePages` over several files (a sharded checkpoint): the share is by bytes, the
    /// seconds summed.
    public static func preferHugePages(_ files: [MappedFile], reread: Bool) -> PageBacking {
        let each = files.map { ($0.count, $0.preferHugePages(reread: reread)) }
        let total = each.reduce(0) { $0 + $1.0 }
        let shares = each.compactMap { bytes, backing in backing.hugeShare.map { Double(bytes) * $0 } }
        let seconds = each.compactMap { $0.1.rereadSeconds }, bytesRead = each.compactMap { $0.1.rereadBytes }
        return PageBacking(
            hugeShare: shares.count == each.count && total > 0 ? shares.reduce(0, +) / Double(total) : nil,
            rereadSeconds: seconds.isEmpty ? nil : seconds.reduce(0, +), rereadBytes: bytesRead.isEmpty ? nil : bytesRead.reduce(0, +))
    }

    /// Advises 2 MiB pages for the whole mapping and faults it in, when the file is at most half
    /// the machine's memory (faulting in more would evict what it reads). Where parts of it are
    /// still on small pages and `reread` allows, drops those parts' cached pages and reads them
    /// again, so that readahead caches them in 2 MiB folios: a read from disk, once (the folios
    /// stay cached for later runs). Where the kernel names the 2 MiB units on small pages
    /// (`molt_small_page_ranges`, Linux 6.7), those are what is read again; elsewhere the whole
    /// file is, and only when less than 90% of it is on 2 MiB pages. When none of it is, one
    /// unit read again must first come back on a 2 MiB page: where the kernel or the file system
    /// cannot cache large folios, that unit is all it costs. Pages other processes map are not
    /// dropped, so a file in use elsewhere keeps its pages. Files smaller than `rereadAtLeast`
    /// bytes are not read again. Nothing here changes what the mapping reads.
    public func preferHugePages(reread: Bool, rereadAtLeast: Int = rereadThreshold) -> PageBacking {
        guard let base = bytes.baseAddress, let span = hugeUnits(), Self.transparentHugePagesAvailable,
            bytes.count <= Self.physicalMemory / 2
        else {
            return PageBacking(hugeShare: nil)
        }
        let start = UnsafeMutableRawPointer(mutating: base)
        _ = molt_advise_huge_pages(start, bytes.count)
        _ = molt_populate_read(start, bytes.count)
        guard let before = hugeKiB() else { return PageBacking(hugeShare: nil) }
        let share = { (kib: Int) in min(1, Double(kib) * 1024 / Double(span.count * Self.hugePageBytes)) }
        guard reread, bytes.count >= rereadAtLeast, share(before) < 1 else { return PageBacking(hugeShare: share(before)) }
        let small = smallUnits()
        guard small != nil || share(before) < 0.9 else { return PageBacking(hugeShare: share(before)) }
        let parts = small ?? [0..<bytes.count]
        guard !parts.isEmpty else { return PageBacking(hugeShare: share(before)) }
        if before == 0 {
            let first = span.lowerBound * Self.hugePageBytes - Int(bitPattern: base)
            readAgain(first..<first + Self.hugePageBytes)
            guard let probed = hugeKiB(), probed > 0 else { return PageBacking(hugeShare: 0) }
        }
        let clock = ContinuousClock.now
        for part in parts { readAgain(part) }
        let seconds = (ContinuousClock.now - clock).seconds
        return PageBacking(hugeShare: hugeKiB().map(share), rereadSeconds: seconds, rereadBytes: parts.reduce(0) { $0 + $1.count })
    }

    /// The 2 MiB-aligned units of the address space wholly inside the mapping (numbered as
    /// address / 2 MiB); nil when there are none.
    private func hugeUnits() -> Range<Int>? {
        guard let base = bytes.baseAddress else { return nil }
        let first = (Int(bitPattern: base) + Self.hugePageBytes - 1) / Self.hugePageBytes
        let end = (Int(bitPattern: base) + bytes.count) / Self.hugePageBytes
        return first < end ? first..<end : nil
    }

    /// The 2 MiB units of `hugeUnits` not mapped by a 2 MiB page now, merged where adjacent, as
    /// byte ranges of the file; nil where the kernel does not say.
    private func smallUnits() -> [Range<Int>]? {
        guard let base = bytes.baseAddress, let span = hugeUnits() else { return nil }
        // Ranges with 2 MiB pages between them: at most half the units, plus the mapping's
        // partial units at either end. More makes the call return -1, the whole-file route.
        let capacity = span.count / 2 + 2
        var pairs = [Int64](repeating: 0, count: 2 * capacity)
        let count = molt_small_page_ranges(base, bytes.count, &pairs, Int64(capacity))
        guard count >= 0 else { return nil }
        let address = Int(bitPattern: base), unit = Self.hugePageBytes
        var units: [Range<Int>] = []
        for i in 0..<Int(count) {
            let low = max(span.lowerBound, (address + Int(pairs[2 * i])) / unit)
            let high = min(span.upperBound, (address + Int(pairs[2 * i + 1]) + unit - 1) / unit)
            guard low < high else { continue }
            if let last = units.last, last.upperBound >= low {
                units[units.count - 1] = last.lowerBound..<max(last.upperBound, high)
            } else {
                units.append(low..<high)
            }
        }
        return units.map { $0.lowerBound * unit - address..<$0.upperBound * unit - address }
    }

    private func hugeKiB() -> Int? {
        let kib = molt_mapping_kib(bytes.baseAddress, bytes.count, "FilePmdMapped")
        return kib < 0 ? nil : Int(kib)
    }

    /// Drops this mapping's pages and the file's cached ones in the range, then faults the range
    /// in again through readahead. Dirty pages cannot be dropped, so a file written a moment ago
    /// (copied, say) is first written back, as the kernel would do within seconds anyway.
    private func readAgain(_ range: Range<Int>) {
        guard let base = bytes.baseAddress else { return }
        _ = fdatasync(descriptor)
        release(range)
        _ = molt_drop_cached_pages(descriptor, Int64(range.lowerBound), Int64(range.count))
        _ = molt_populate_read(UnsafeMutableRawPointer(mutating: base + range.lowerBound), range.count)
    }

    static let physicalMemory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Transparent huge pages are on ("always" or "madvise", not "never") where the kernel says.
    static let transparentHugePagesAvailable: Bool = {
        guard let setting = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8) else {
            return false
        }
        return !setting.contains("[never]")
    }()
}
