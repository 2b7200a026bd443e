#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Norms, activation functions and the other small row operations of the forward pass
// (Formats/model.md gives each one's definition).

/// Both norms use the published epsilon.
let normEpsilon = 1e-5

// MARK: Norms (one row of `count` values; sums in Double so the row length does not matter)

/// out = x / sqrt(mean(x^2) + eps) * weight
func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var squares = 0.0
    for i in 0..<count { squares += Double(x[i]) * Double(x[i]) }
    let scale = Float(1 / (squares / Double(count) + normEpsilon).squareRoot())
    for i in 0..<count { out[i] = x[i] * scale * weight[i] }
}

/// out = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.
func layerNorm(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>, count: Int
) {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i]) }
    let mean = sum / Double(count)
    var squares = 0.0
    for i in 0..<count { squares += (Double(x[i]) - mean) * (Double(x[i]) - mean) }
    let scale = 1 / (squares / Double(count) + normEpsilon).squareRoot()
    for i in 0..<count { out[i] = Float((Double(x[i]) - mean) * scale) * weight[i] + bias[i] }
}

// MARK: Activations

@inline(__always) func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

// MARK: Rows

/// Adds `bias` (when the checkpoint has one) to each of `rows` consecutive rows of `width` values.
func addBias(_ bias: UnsafePointer<Float>?, to x: UnsafeMutablePointer<Float>, rows: Int = 1, width: Int) {
    guard let bias else { return }
    for r in 0..<rows {
        let row = x + r * width
        for i in 0..<width { row[i] += bias[i] }
    }
}

/// Index of the largest value; the lowest index wins ties, as torch's argmax does.
func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    for i in 1..<max(count, 1) where values[i] > values[best] { best = i }
    return best
}
