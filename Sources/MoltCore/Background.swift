import Foundation

/// Work started on another thread now and collected later: lets a command hash or checksum
/// a source on the second core while the first converts it.
public final class Background<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?

    public init(_ work: @escaping () throws -> Value) {
        DispatchQueue.global().async {
            self.result = Result(catching: work)
            self.done.signal()
        }
    }

    /// Blocks until the work is done; returns its value or throws its error.
    public func wait() throws -> Value {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
