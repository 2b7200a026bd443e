import Foundation
import MoltCore
import MoltFuzzTargets

// SwiftPM links an executable's main under its own name, so libFuzzer's main cannot be used:
// this main hands over to libFuzzer's driver instead.

/// The target named by MOLT_FUZZ_TARGET.
let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["MOLT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("MOLT_FUZZ_TARGET must be one of: \(known)\n".utf8))
        exit(1)
    }
    return target
}()

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// A MoltError is a correct refusal; any other error is a finding, made a crash so libFuzzer
/// keeps the input.
let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, size in
    do {
        try target.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch is MoltError {
    } catch {
        fatalError("not a MoltError: \(error)")
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
_ = target
exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
