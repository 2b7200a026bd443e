import Foundation
@testable import MoltRuntime
import Testing

/// SiLU and GELU are ElementwiseKernelTests' (MoltKernelsTests).
@Test func normsAndArgmaxMatchTheirDefinitions() {
    let x: [Float] = [1, -2, 3, 0.5]
    let weight: [Float] = [1, 2, 0.5, 1]
    var out = [Float](repeating: 0, count: 4)
    rmsNorm(x, weight: weight, into: &out, count: 4)
    let rms = (x.map { Double($0 * $0) }.reduce(0, +) / 4 + 1e-5).squareRoot()
    for i in 0..<4 { #expect(abs(Double(out[i]) - Double(x[i] * weight[i]) / rms) < 1e-6) }
    #expect(argmax([1, 5, 5, 2], count: 4) == 1)
}
