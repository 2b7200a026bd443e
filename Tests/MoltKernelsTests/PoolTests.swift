import Foundation
import MoltKernels
import Synchronization
import Testing

/// Each thread takes its own contiguous range of tasks, then helps the others from their ends:
/// every task must still run exactly once, whatever the thread count and however the tasks
/// divide among the threads.
@Test(arguments: [1, 2, 3, 5])
func everyTaskRunsExactlyOnce(threads: Int) {
    let pool = KernelThreads(count: threads)
    for tasks in [0, 1, 2, 3, 7, 64, 1000] {
        let runs = Mutex([Int](repeating: 0, count: tasks))
        pool.parallel(tasks) { task in
            // Uneven work, so that some threads finish their range early and take others'.
            usleep(UInt32(task % 7 * 20))
            runs.withLock { $0[task] += 1 }
        }
        runs.withLock { counts in
            #expect(counts.allSatisfy { $0 == 1 }, "\(threads) threads, \(tasks) tasks: \(counts.enumerated().filter { $0.element != 1 }.prefix(5))")
        }
    }
}
