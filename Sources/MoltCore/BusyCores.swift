import Foundation

/// Marks the stretches where work keeps every core busy, so that background work can wait
/// them out instead of competing for the cores. A conversion's quantizer runs in such
/// stretches; between them it writes and checksums a tensor on one thread, and the parity
/// check's source side uses the cores then. Plain waiting, not an idle scheduling priority:
/// an idle-priority thread would fill the same gaps, but on a machine busy with other work it
/// can hardly run at all, and whoever waits for it (even the process's exit) waits with it.
public enum BusyCores {
    private static let condition = NSCondition()
    nonisolated(unsafe) private static var stretches = 0

    /// Runs `body` as a stretch that occupies every core.
    public static func occupy<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        stretches += 1
        condition.unlock()
        defer {
            condition.lock()
            stretches -= 1
            if stretches == 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body()
    }

    /// Returns once no stretch is running.
    public static func waitUntilFree() {
        condition.lock()
        while stretches > 0 { condition.wait() }
        condition.unlock()
    }
}
