import Foundation
import MoltCore
import Testing

/// `MOLT_KERNELS` as a user sets it: `molt bench` runs and reports the level chosen, and a bad
/// value stops any command with a usage error.
@Test(arguments: KernelPath.supported)
func benchRunsAndReportsTheChosenKernelPath(path: KernelPath) throws {
    let bench = try MoltBinary.run(
        ["bench", MoltBinary.fixture("a-zip-bare"), "--prompt", "4", "--gen", "2", "--json"],
        environment: ["MOLT_KERNELS": path.description])
    #expect(bench.status == 0, "\(bench.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any])
    #expect(json["kernel_path"] as? String == path.description)
    let text = try MoltBinary.run(
        ["bench", MoltBinary.fixture("a-zip-bare"), "--prompt", "4", "--gen", "2"], environment: ["MOLT_KERNELS": path.description])
    #expect(text.stdout.contains("kernels  \(path) (of "))
}

@Test func anUnknownKernelPathStopsEveryCommand() throws {
    let result = try MoltBinary.run(["inspect", MoltBinary.fixture("a-zip-bare")], environment: ["MOLT_KERNELS": "sse"])
    #expect(result.status == 1)
    #expect(result.stderr == "molt: error: MOLT_KERNELS='sse': expected one of scalar, avx2, avx512, avx512vnni\n")
    #expect(result.stdout.isEmpty)
}

@Test(.enabled(if: KernelPath.detected != .avx512vnni, "this CPU has every level: none to refuse"))
func aKernelPathTheCPULacksStopsEveryCommand() throws {
    let missing = KernelPath.allCases.last!
    let result = try MoltBinary.run(["inspect", MoltBinary.fixture("a-zip-bare")], environment: ["MOLT_KERNELS": missing.description])
    #expect(result.status == 1)
    #expect(result.stderr.hasPrefix("molt: error: MOLT_KERNELS=\(missing): this CPU lacks \(missing); it runs scalar"))
}
