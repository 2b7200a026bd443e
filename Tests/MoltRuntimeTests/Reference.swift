import Foundation
import MoltCore

/// The forward pass exactly as Formats/model.md writes it: Double precision, plain loops, no BLAS,
/// nothing shared with the runtime. Returns logits [L][vocabRows].
func referenceLogits(_ config: BlackMambaConfig, _ tensors: [String: Tensor], _ tokens: [Int]) throws -> [[Double]] {
    func w(_ name: String) throws -> [Double] { try tensors[name]!.floatValues().map(Double.init) }
    func silu(_ v: Double) -> Double { v / (1 + exp(-v)) }
    func softplus(_ v: Double) -> Double { log(1 + exp(v)) }
    func gelu(_ v: Double) -> Double { 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }
    /// x W^T + b for one position, W [out, in].
    func linear(_ x: [Double], _ weight: [Double], _ bias: [Double]?, out: Int) -> [Double] {
        (0..<out).map { j in
            var sum = bias?[j] ?? 0
            for k in 0..<x.count { sum += x[k] * weight[j * x.count + k] }
            return sum
        }
    }
    let h = config.hiddenSize, di = config.innerSize, n = config.stateSize, k = config.convDimension
    let r = config.dtRank, f = config.ffnHiddenSize, v = config.vocabRows, length = tokens.count
    let hasBias = config.addBiasLinear
    let embedding = try w(TensorNames.embedding)

    var x = tokens.map { Array(embedding[$0 * h..<($0 + 1) * h]) }
    for (i, layer) in config.layers.enumerated() {
        let normWeight = try w(TensorNames.norm(i))
        let normed = x.map { row -> [Double] in
            let scale = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(h) + 1e-5).squareRoot()
            return (0..<h).map { row[$0] * scale * normWeight[$0] }
        }
        switch layer {
        case .mamba:
            let m = { (s: String) in try w(TensorNames.mamba(i, s)) }
            let inProj = try m("in_proj.weight"), inBias = hasBias ? try m("in_proj.bias") : nil
            let convW = try m("conv1d.weight"), convB = try m("conv1d.bias"), xProj = try m("x_proj.weight")
            let dtW = try m("dt_proj.weight"), dtB = try m("dt_proj.bias"), aLog = try m("A_log"), d = try m("D")
            let outProj = try m("out_proj.weight"), outBias = hasBias ? try m("out_proj.bias") : nil
            let xz = normed.map { linear($0, inProj, inBias, out: 2 * di) }
            let pre = xz.map { Array($0[0..<di]) }
            var state = [[Double]](repeating: [Double](repeating: 0, count: n), count: di)
            for t in 0..<length {
                var u = [Double](repeating: 0, count: di)
                for c in 0..<di {
                    var sum = convB[c]
                    for j in 0..<k where t - k + 1 + j >= 0 { sum += convW[c * k + j] * pre[t - k + 1 + j][c] }
                    u[c] = silu(sum)
                }
                let dbc = linear(u, xProj, nil, out: r + 2 * n)
                let dtLow = Array(dbc[0..<r]), b = Array(dbc[r..<r + n]), cc = Array(dbc[(r + n)...])
                let delta = linear(dtLow, dtW, dtB, out: di).map(softplus)
                var gatedY = [Double](repeating: 0, count: di)
                for c in 0..<di {
                    var y = 0.0
                    for s in 0..<n {
                        let a = -exp(aLog[c * n + s])
                        state[c][s] = exp(delta[c] * a) * state[c][s] + delta[c] * b[s] * u[c]
                        y += state[c][s] * cc[s]
                    }
                    y += d[c] * u[c]
                    gatedY[c] = y * silu(xz[t][di + c])
                }
                let out = linear(gatedY, outProj, outBias, out: h)
                for j in 0..<h { x[t][j] += out[j] }
            }
        case .moe(let experts):
            let routerW = try w(TensorNames.router(i, "weight")), routerB = try w(TensorNames.router(i, "bias"))
            for t in 0..<length {
                let p = linear(normed[t], routerW, routerB, out: experts).map { 1 / (1 + exp(-$0)) }
                var e = 0
                for j in 1..<experts where p[j] > p[e] { e = j }
                let ex = { (s: String) in try w(TensorNames.expert(i, e, s)) }
                let a = linear(
                    normed[t], try ex("linear_fc1.weight"), hasBias ? try ex("linear_fc1.bias") : nil,
                    out: config.swiglu ? 2 * f : f)
                let g = (0..<f).map { config.swiglu ? gelu(a[$0]) * a[f + $0] : gelu(a[$0]) }
                let out = linear(g, try ex("linear_fc2.weight"), hasBias ? try ex("linear_fc2.bias") : nil, out: h)
                for j in 0..<h { x[t][j] += p[e] * out[j] }
            }
        }
    }
    let finalW = try w(TensorNames.finalNormWeight), finalB = try w(TensorNames.finalNormBias)
    let outputBias = hasBias ? try w(TensorNames.outputBias) : nil
    return x.map { row in
        let mean = row.reduce(0, +) / Double(h)
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(h)
        let y = (0..<h).map { (row[$0] - mean) / (variance + 1e-5).squareRoot() * finalW[$0] + finalB[$0] }
        return linear(y, embedding, outputBias, out: v)
    }
}
