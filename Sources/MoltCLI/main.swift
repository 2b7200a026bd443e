import ArgumentParser
import Foundation
import MoltCore

// Exit codes are part of the interface: 0 success, 1 usage, 2 bad input, 3 failed parity.
Interrupts.removeTemporaryFilesOnSignal()
do {
    var command = try Molt.parseAsRoot()
    try command.run()
} catch let error as MoltError {
    Terminal.error(error.message)
    exit(error.kind == .usage ? 1 : 2)
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    if Molt.exitCode(for: error) == .success {
        print(Molt.fullMessage(for: error))
        exit(0)
    }
    let message = Molt.fullMessage(for: error)
    Terminal.error(message.hasPrefix("Error: ") ? String(message.dropFirst("Error: ".count)) : message)
    exit(1)
}
