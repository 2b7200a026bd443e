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

    /// Runs `body(task)` for every task in 0..<tasks on the pool's threads (this one among
    /// them) and returns when all are done. `body` must not run kernels on this pool.
    public func parallel(_ tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 1 else {
            if tasks == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                molt_pool_parallel(pool, Int64(tasks), { context, task in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(task))
                }, context)
            }
        }
    }

    deinit { molt_pool_destroy(pool) }
}
