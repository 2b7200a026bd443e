import Foundation
@testable import MoltRuntime
import Testing

@Test func vectorExpIsWithinTwoUlp() {
    var worst = 0.0
    for i in 0...40_000 {
        let x = -87 + 175 * Float(i) / 40_000
        let lanes = SIMD4<Float>(x, x / 3, -x / 7, x / 1000)
        let got = exp4(lanes)
        for lane in 0..<4 {
            let exact = exp(Double(lanes[lane]))
            worst = max(worst, abs(Double(got[lane]) - exact) / exact)
        }
    }
    #expect(worst < 2.5e-7, "worst relative error \(worst)")
    #expect(exp4(SIMD4(repeating: 0)) == SIMD4(repeating: 1))
    let far = exp4(SIMD4(-1000, -88, 89, 1000))
    #expect(far[0] >= 0 && far[0] < 1e-37 && far[1] < 1e-37)
    #expect(far[2].isFinite && far[3].isFinite)
}

@Test func normsAndActivationsMatchTheirDefinitions() {
    let x: [Float] = [1, -2, 3, 0.5]
    let weight: [Float] = [1, 2, 0.5, 1]
    var out = [Float](repeating: 0, count: 4)
    rmsNorm(x, weight: weight, into: &out, count: 4)
    let rms = (x.map { Double($0 * $0) }.reduce(0, +) / 4 + 1e-5).squareRoot()
    for i in 0..<4 { #expect(abs(Double(out[i]) - Double(x[i] * weight[i]) / rms) < 1e-6) }
    #expect(abs(gelu(1) - 0.841_344_7) < 1e-6)
    #expect(softplus(30) == 30 && abs(softplus(0) - Float(log(2.0))) < 1e-7)
    #expect(argmax([1, 5, 5, 2], count: 4) == 1)
}
