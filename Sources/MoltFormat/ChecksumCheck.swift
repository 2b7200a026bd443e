import MoltCore

/// The check of every checksum of a .molt file, on a thread of its own while the file is used
/// (Formats/molt.md, "When checksums are checked"): a command that runs the model waits for
/// it before its first output, so a damaged file never yields one, and the check costs only
/// what the model's own work does not hide.
public final class ChecksumCheck: Sendable {
    private let work: Background<Void>?

    /// No check: for `--no-check`, and for sources whose checksums were checked as they were read.
    public static let skipped = ChecksumCheck(work: nil)

    private init(work: Background<Void>?) {
        self.work = work
    }

    /// Starts checking `file`: on one core, so that the model keeps the others.
    public convenience init(_ file: MoltFile) {
        self.init(work: Background(.dedicated()) { try file.verifyChecksums(parallel: false) })
    }

    /// Blocks until the check is done; throws its error (naming the file and every damaged
    /// entry) if it failed. Cheap once done.
    public func wait() throws {
        try work?.wait()
    }
}
