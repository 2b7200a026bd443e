import CMoltSystem
import Foundation

/// Work started on another thread now and collected later: lets a command hash or checksum
/// a source on the second core while the first converts it.
public final class Background<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?

    public enum Thread: Sendable {
        /// A thread of the system's shared pool: for work that does not run for long.
        case shared
        /// A thread of its own, for long work beside other users of the shared pool (which
        /// sizes itself to the cores and would lend this work a thread they need), at the given
        /// niceness (0 normal, up to 19; threads it starts inherit it).
        case dedicated(niceness: Int32 = 0)
    }

    public init(_ thread: Thread = .shared, _ work: @escaping () throws -> Value) {
        let run = {
            self.result = Result(catching: work)
            self.done.signal()
        }
        switch thread {
        case .shared: DispatchQueue.global().async { run() }
        case .dedicated(let niceness):
            let thread = Foundation.Thread {
                if niceness > 0 { _ = molt_set_thread_niceness(niceness) }
                run()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Blocks until the work is done; returns its value or throws its error.
    public func wait() throws -> Value {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
