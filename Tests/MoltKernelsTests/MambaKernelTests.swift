import CMoltKernels
import Foundation
import MoltCore
@testable import MoltKernels
import Testing

/// The Mamba mixer's element-wise kernels against Double references, over the whole range of
/// inputs they see (and past it), on every path this machine has.
@Suite struct MambaKernelTests {
    @Test(arguments: KernelPath.supported)
    func softplusIsLogOfOnePlusExp(path: KernelPath) {
        var values: [Float] = [-200, -90, -87, -40, -20, -17, -10, -1, -1e-3, -1e-8, 0, 1e-8, 1e-3, 0.5, 1, 5, 15, 19.99, 20, 20.01, 30, 100]
        var random = Random(seed: 21)
        values += random.activations(500).map { $0 * 12 }
        let bias = values.indices.map { Float($0 % 3) * 0.25 - 0.25 }
        var x = values
        molt_softplus(&x, bias, Int64(x.count), path.c)
        for (i, v) in values.enumerated() {
            let z = Double(v + bias[i])
            let expected = z > 20 ? z : log1p(exp(z))
            let error = abs(Double(x[i]) - expected)
            // A few ulps of the result, and of tiny results too (log1p, not log(1 + e)), down to
            // the smallest normal float: the exponential stops there instead of going subnormal.
            #expect(error <= max(4 * Double(Float(expected).ulp), 2 * Double(Float.leastNormalMagnitude)),
                    "\(path) softplus(\(z)) = \(x[i]), expected \(expected)")
        }
    }

    @Test(arguments: [16, 5], KernelPath.supported)
    func scanMatchesTheRecurrence(stateSize n: Int, path: KernelPath) {
        let steps = 7, di = 37, stride = n * 2 + 3
        var random = Random(seed: UInt64(30 + n))
        let u = random.activations(steps * di), bc = random.activations(steps * stride)
        let delta = random.activations(steps * di).map { abs($0) * 0.3 }
        let a = random.activations(di * n).map { -abs($0) * 4 - 0.1 }, d = random.activations(di)
        var state = random.activations(di * n), y = [Float](repeating: 0, count: steps * di)
        var expectedState = state.map(Double.init), expected = [Double](repeating: 0, count: steps * di)
        for t in 0..<steps {
            for ch in 0..<di {
                let dt = Double(delta[t * di + ch]), x = Double(u[t * di + ch])
                var out = 0.0
                for j in 0..<n {
                    let h = exp(dt * Double(a[ch * n + j])) * expectedState[ch * n + j] + dt * x * Double(bc[t * stride + j])
                    expectedState[ch * n + j] = h
                    out += h * Double(bc[t * stride + n + j])
                }
                expected[t * di + ch] = out + Double(d[ch]) * x
            }
        }
        // Two calls over disjoint channel ranges, as the runtime's threads make them.
        molt_selective_scan(Int64(steps), u, delta, Int64(di), bc, Int64(stride), Int64(n), a, d, &state, &y, 0, 20, path.c)
        molt_selective_scan(Int64(steps), u, delta, Int64(di), bc, Int64(stride), Int64(n), a, d, &state, &y, 20, Int64(di), path.c)
        let scale = expected.map(abs).max()!
        for i in expected.indices {
            #expect(abs(Double(y[i]) - expected[i]) <= 1e-5 * scale, "\(path) y[\(i)] = \(y[i]), expected \(expected[i])")
        }
        for i in expectedState.indices {
            #expect(abs(Double(state[i]) - expectedState[i]) <= 1e-5 * max(1, abs(expectedState[i])), "h[\(i)]")
        }
    }
}
