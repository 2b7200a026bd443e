import Foundation

/// A progress line on stderr: done, total, rate and time left. Redrawn ten times a second on
/// a terminal; elsewhere (a log, a pipe) printed as a line every MOLT_PROGRESS_SECONDS
/// seconds (default 5), so that long work is not silent.
struct Progress {
    static let loggedInterval = ProcessInfo.processInfo.environment["MOLT_PROGRESS_SECONDS"].flatMap(Double.init) ?? 5

    let total: Int
    let label: String
    /// What `total` counts; bytes print as KiB/MiB.
    let unit: String
    private var done = 0
    private let start = Date()
    private var lastDraw: Date
    private let interval: TimeInterval

    init(total: Int, label: String, unit: String = "bytes") {
        self.total = total
        self.label = label
        self.unit = unit
        interval = Terminal.stderrIsTerminal ? 0.1 : Self.loggedInterval
        lastDraw = Terminal.stderrIsTerminal ? .distantPast : start
    }

    mutating func advance(by amount: Int, note: String = "") {
        advance(to: done + amount, note: note)
    }

    mutating func advance(to amount: Int, note: String = "") {
        done = amount
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-6)
        let rate = Double(done) / elapsed
        let left = rate > 0 ? Double(total - done) / rate : 0
        let percent = total == 0 ? 100 : Double(done) * 100 / Double(total)
        let unit = self.unit
        let amount = { (n: Int) in unit == "bytes" ? Formatting.bytes(n) : "\(n) \(unit)" }
        Terminal.progress(String(
            format: "%@: %5.1f%%  %@  %@ of %@  %@/s  %.0fs left", label, percent, note, amount(done), amount(total),
            amount(Int(rate)), left))
    }

    func finish() { Terminal.endProgress() }
}
