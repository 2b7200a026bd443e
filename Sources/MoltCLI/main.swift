import ArgumentParser
import Foundation
import MoltCore

/// Leaves without running library destructors: OpenBLAS's joins its worker threads and can
/// hang for good when a background thread (the parity check's source side, still running when
/// an error ends the command) is inside OpenBLAS. Our own output is flushed or removed by then.
func leave(_ code: Int32) -> Never {
    fflush(nil)
    _exit(code)
}

// Exit codes are part of the interface: 0 success, 1 usage, 2 bad input, 3 failed parity.
Interrupts.removeTemporaryFilesOnSignal()
if let problem = CommandSpelling.problem(in: Array(CommandLine.arguments.dropFirst())) {
    Terminal.error(problem)
    leave(1)
}
do {
    var command = try Molt.parseAsRoot()
    // A MOLT_KERNELS naming no level, or one this CPU lacks, stops every command before work.
    _ = try KernelPath.selection.get()
    try command.run()
    leave(0)
} catch let error as MoltError {
    Terminal.error(error.message)
    leave(error.kind == .usage ? 1 : 2)
} catch let code as ExitCode {
    leave(code.rawValue)
} catch {
    if Molt.exitCode(for: error) == .success {
        print(Molt.fullMessage(for: error))
        leave(0)
    }
    let message = Molt.fullMessage(for: error)
    Terminal.error(message.hasPrefix("Error: ") ? String(message.dropFirst("Error: ".count)) : message)
    leave(1)
}
