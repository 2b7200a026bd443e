import CMoltKernels
import Foundation

/// A persistent pool of threads for the kernels. The calling thread does its share, so a pool
/// of `count` threads starts `count - 1`. A pool runs one kernel at a time: callers on several
/// threads take turns.
public final class KernelThreads: @unchecked Sendable {
    let pool: OpaquePointer
    public let count: Int

    public init(count: Int) {
        guard let pool = molt_pool_create(Int32(clamping: max(1, count))) else {
            fatalError("cannot create a kernel thread pool")
        }
        self.pool = pool
        self.count = Int(molt_pool_threads(pool))
    }

    /// One thread per active core, created on first use.
    public static let shared = KernelThreads(count: ProcessInfo.processInfo.activeProcessorCount)

    deinit { molt_pool_destroy(pool) }
}
