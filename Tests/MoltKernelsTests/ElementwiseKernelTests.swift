import CMoltKernels
import Foundation
import MoltCore
@testable import MoltKernels
import Testing

/// The mixers' element-wise kernels against Double references, over the whole range of
/// inputs they see (and past it), on every path this machine has.
@Suite struct ElementwiseKernelTests {
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

    /// Inputs past both ends of what the mixers see (to the largest floats), the branch points
    /// (t = |v| / √2 = 0.5, 1; |v| = 14, 88) and a ragged count, so the masked end runs too.
    private func pointwiseInputs(seed: UInt64) -> [Float] {
        var values: [Float] = [-3e38, -1e20, -200, -90, -88.5, -40, -14.5, -14, -13, -10, -6, -4, -3, -1.5, -1.4143, -1.4142,
                               -0.7072, -0.7071, -0.5, -1e-3, -1e-8, 0, 1e-8, 1e-3, 0.7071, 0.7072, 1, 1.4142, 3, 6, 10,
                               14, 14.5, 40, 90, 1e20, 3e38]
        var random = Random(seed: seed)
        values += random.activations(501).map { $0 * 4 }
        return values
    }

    /// Within `ulps` of the result, or `floor` absolute where the exact value is smaller still:
    /// the exponential stops at e^-87.3 instead of going subnormal (silu(v) below v = -88 is
    /// silu(-88) = -5e-37; gelu's erfc is at most 1e-37 there).
    private func expectWithin(_ got: Float, _ expected: Double, ulps: Double, floor: Double, _ what: String) {
        let error = abs(Double(got) - expected)
        #expect(error <= max(ulps * Double(Float(expected).ulp), floor), "\(what) = \(got), expected \(expected)")
    }

    @Test(arguments: KernelPath.supported)
    func siluIsXOverOnePlusExp(path: KernelPath) {
        let values = pointwiseInputs(seed: 22)
        var x = values, y = values.indices.map { Float($0 % 5) * 0.5 - 1 }
        let factors = y
        // In place, as after the convolution (out = in), and as the gate (out = gate = y).
        x.withUnsafeMutableBufferPointer { molt_silu($0.baseAddress!, $0.baseAddress!, nil, Int64(values.count), path.c) }
        y.withUnsafeMutableBufferPointer { molt_silu($0.baseAddress!, values, $0.baseAddress!, Int64(values.count), path.c) }
        for (i, v) in values.enumerated() {
            let expected = Double(v) / (1 + exp(-Double(v)))
            expectWithin(x[i], expected, ulps: 4, floor: 1.5e-36, "\(path) silu(\(v))")
            expectWithin(y[i], expected * Double(factors[i]), ulps: 5, floor: 1.5e-36, "\(path) \(factors[i]) * silu(\(v))")
        }
    }

    @Test(arguments: KernelPath.supported)
    func geluIsXTimesTheNormalDistribution(path: KernelPath) {
        let values = pointwiseInputs(seed: 23)
        let gate = values.indices.map { Float($0 % 7) * 0.5 - 1.5 }
        var plain = [Float](repeating: .nan, count: values.count), gated = plain
        molt_gelu(&plain, values, nil, Int64(values.count), path.c)
        molt_gelu(&gated, values, gate, Int64(values.count), path.c)
        for (i, v) in values.enumerated() {
            let expected = Double(v) * 0.5 * erfc(-Double(v) / 2.0.squareRoot())
            expectWithin(plain[i], expected, ulps: 8, floor: 1e-36, "\(path) gelu(\(v))")
            expectWithin(gated[i], expected * Double(gate[i]), ulps: 9, floor: 1e-36, "\(path) gelu(\(v)) * \(gate[i])")
        }
        // In place (g = a), as an ungated expert's activation may be computed.
        var inPlace = values
        inPlace.withUnsafeMutableBufferPointer { molt_gelu($0.baseAddress!, $0.baseAddress!, nil, Int64(values.count), path.c) }
        #expect(inPlace == plain)
    }

    /// The AVX-512 forms take the AVX2 forms' steps: the same values, bit for bit.
    @Test func vectorPathsAgreeBitForBit() {
        let vectorPaths = KernelPath.supported.filter { $0.rawValue >= KernelPath.avx2.rawValue }
        guard let first = vectorPaths.first else { return }
        let values = pointwiseInputs(seed: 24)
        func outputs(_ path: KernelPath) -> [Float] {
            var silu = values, gelu = values
            molt_silu(&silu, values, nil, Int64(values.count), path.c)
            molt_gelu(&gelu, values, nil, Int64(values.count), path.c)
            return silu + gelu
        }
        let reference = outputs(first)
        for path in vectorPaths.dropFirst() {
            #expect(outputs(path).map(\.bitPattern) == reference.map(\.bitPattern), "\(path) against \(first)")
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
