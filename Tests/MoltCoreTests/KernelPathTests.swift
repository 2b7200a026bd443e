@testable import MoltCore
import Testing

/// `MOLT_KERNELS` chooses the level by hand, and only one the CPU has.
@Suite struct KernelPathTests {
    @Test func unsetOrEmptyMeansTheDetectedLevel() throws {
        #expect(try KernelPath.select(nil, detected: .avx2).get() == .avx2)
        #expect(try KernelPath.select("", detected: .avx512vnni).get() == .avx512vnni)
    }

    @Test func everyLevelUpToTheDetectedOneIsChosenByName() throws {
        for detected in KernelPath.allCases {
            for path in KernelPath.allCases where path.rawValue <= detected.rawValue {
                #expect(try KernelPath.select(path.description, detected: detected).get() == path)
            }
        }
    }

    @Test func aLevelTheCPULacksIsRefusedNamingWhatItHas() {
        let error = #expect(throws: MoltError.self) { try KernelPath.select("avx512", detected: .avx2).get() }
        #expect(error?.kind == .usage)
        #expect(error?.message == "MOLT_KERNELS=avx512: this CPU lacks avx512; it runs scalar, avx2")
        #expect(error?.reason == .kernelPathUnavailable)
    }

    @Test func anUnknownNameIsRefusedListingTheLevels() {
        let error = #expect(throws: MoltError.self) { try KernelPath.select("AVX2", detected: .avx512vnni).get() }
        #expect(error?.kind == .usage)
        #expect(error?.message == "MOLT_KERNELS='AVX2': expected one of scalar, avx2, avx512, avx512vnni")
        #expect(error?.reason == .unknownKernelPath)
    }
}
