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
        /// Seconds spent reading the file again onto 2 MiB pages; nil when it was not.
        public let rereadSeconds: Double?
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
        let rereads = each.compactMap { $0.1.rereadSeconds }
        return PageBacking(
            hugeShare: shares.count == each.count && total > 0 ? shares.reduce(0, +) / Double(total) : nil,
            rereadSeconds: rereads.isEmpty ? nil : rereads.reduce(0, +))
    }

    /// Advises 2 MiB pages for the whole mapping and faults it in, when the file is at most half
    /// the machine's memory (faulting in more would evict what it reads). When most of it is still on
    /// small pages and `reread` allows, drops the file's cached pages and reads it again, so
    /// that readahead caches it in 2 MiB folios: a read of the file from disk, once (the folios
    /// stay cached for later runs). It does so only after one 2 MiB unit, read again the same
    /// way, came back on a 2 MiB page: where the kernel or the file system cannot cache large
    /// folios, that unit is all it costs. Pages other processes map are not dropped, so a file
    /// in use elsewhere keeps its pages. Files smaller than `rereadAtLeast` bytes are not read
    /// again. Nothing here changes what the mapping reads.
    public func preferHugePages(reread: Bool, rereadAtLeast: Int = rereadThreshold) -> PageBacking {
        guard let base = bytes.baseAddress, let span = hugeUnits(), Self.transparentHugePagesAvailable,
            bytes.count <= Self.physicalMemory / 2
        else {
            return PageBacking(hugeShare: nil, rereadSeconds: nil)
        }
        let start = UnsafeMutableRawPointer(mutating: base)
        _ = molt_advise_huge_pages(start, bytes.count)
        _ = molt_populate_read(start, bytes.count)
        guard let before = hugeKiB() else { return PageBacking(hugeShare: nil, rereadSeconds: nil) }
        let share = { (kib: Int) in min(1, Double(kib) * 1024 / Double(span.count * Self.hugePageBytes)) }
        guard reread, bytes.count >= rereadAtLeast, share(before) < 0.9 else { return PageBacking(hugeShare: share(before), rereadSeconds: nil) }
        // Some units on 2 MiB pages already show the file system can cache them so; otherwise
        // one unit read again must show it.
        if before == 0 {
            readAgain(offset: span.lowerBound * Self.hugePageBytes - Int(bitPattern: base), count: Self.hugePageBytes)
            guard let probed = hugeKiB(), probed > 0 else { return PageBacking(hugeShare: 0, rereadSeconds: nil) }
        }
        let clock = ContinuousClock.now
        readAgain(offset: 0, count: bytes.count)
        let seconds = (ContinuousClock.now - clock).seconds
        return PageBacking(hugeShare: hugeKiB().map(share), rereadSeconds: seconds)
    }

    /// The 2 MiB-aligned units of the address space wholly inside the mapping (numbered as
    /// address / 2 MiB); nil when there are none.
    private func hugeUnits() -> Range<Int>? {
        guard let base = bytes.baseAddress else { return nil }
        let first = (Int(bitPattern: base) + Self.hugePageBytes - 1) / Self.hugePageBytes
        let end = (Int(bitPattern: base) + bytes.count) / Self.hugePageBytes
        return first < end ? first..<end : nil
    }

    private func hugeKiB() -> Int? {
        let kib = molt_mapping_kib(bytes.baseAddress, bytes.count, "FilePmdMapped")
        return kib < 0 ? nil : Int(kib)
    }

    /// Drops this mapping's pages and the file's cached ones in the range, then faults the range
    /// in again through readahead. Dirty pages cannot be dropped, so a file written a moment ago
    /// (copied, say) is first written back, as the kernel would do within seconds anyway.
    private func readAgain(offset: Int, count: Int) {
        guard let base = bytes.baseAddress else { return }
        _ = fdatasync(descriptor)
        release(offset..<offset + count)
        _ = molt_drop_cached_pages(descriptor, Int64(offset), Int64(count))
        _ = molt_populate_read(UnsafeMutableRawPointer(mutating: base + offset), count)
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
