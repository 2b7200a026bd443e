import Foundation
import MoltCore

/// Where messages for people go: errors and warnings on stderr, results on stdout.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("molt: error: \(message)\n".utf8))
    }

    /// A one-line summary for people, on stderr so stdout stays clean for data.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data("molt: \(message)\n".utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("molt: warning: \(message)\n".utf8))
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// Writes a progress line that the next one overwrites on a terminal; elsewhere (a log,
    /// a pipe) a line of its own.
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data((stderrIsTerminal ? "\r\u{1B}[K\(line)" : "molt: \(line)\n").utf8))
    }

    static func endProgress() {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Ctrl-C or SIGTERM during a long write must leave no temporary file behind.
enum Interrupts {
    private static var sources: [DispatchSourceSignal] = []

    static func removeTemporaryFilesOnSignal() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                AtomicOutput.removeAllTemporaryFiles()
                FileHandle.standardError.write(Data("\nmolt: interrupted\n".utf8))
                _exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// For commands that handle SIGINT and SIGTERM themselves (`molt serve` drains its requests).
    static func stopHandlingSignals() {
        sources.forEach { $0.cancel() }
        sources = []
    }
}
