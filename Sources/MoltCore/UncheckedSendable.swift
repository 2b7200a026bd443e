/// Lets a pointer or buffer cross into `concurrentPerform`, where each iteration touches only
/// its own part of it.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
