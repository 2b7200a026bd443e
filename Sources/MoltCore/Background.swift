import CMoltSystem
import Foundation

/// Work started on another thread now and collected later: lets a command hash or checksum
/// a source on the second core while the first converts it.
public final class Background<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?

    public enum Priority: Sendable {
        /// A thread of the system's shared pool.
        case normal
        /// A thread of its own that runs only when a core is idle (Linux's SCHED_IDLE;
        /// elsewhere, normal priority): it fills the time other work leaves free without
        /// slowing that work, and runs at full speed once nothing else does. Threads it starts
        /// inherit the policy.
        case whenIdle
    }

    public init(_ priority: Priority = .normal, _ work: @escaping () throws -> Value) {
        let run = {
            self.result = Result(catching: work)
            self.done.signal()
        }
        switch priority {
        case .normal: DispatchQueue.global().async(execute: run)
        case .whenIdle:
            let thread = Thread {
                _ = molt_run_only_when_idle()
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
