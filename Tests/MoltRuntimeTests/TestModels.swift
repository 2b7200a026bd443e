import Foundation
import MoltCore
@testable import MoltRuntime

/// The tests' seeded source of weights and token ids.
typealias TestRandom = SplitMix64

/// A small config; `layers` is spelled as in config.json ("r" or an expert count).
func testConfig(
    _ layers: [String], hidden: Int = 16, state: Int = 4, conv: Int = 3, ffn: Int = 24, vocab: Int = 40,
    vocabRows: Int = 48, bias: Bool = false, swiglu: Bool = true, dtRank: Int = 3
) -> BlackMambaConfig {
    BlackMambaConfig(
        hiddenSize: hidden, stateSize: state, convDimension: conv, expansionFactor: 2, ffnHiddenSize: ffn,
        vocabSize: vocab, layers: layers.map { $0 == "r" ? .mamba : .moe(experts: Int($0)!) },
        addBiasLinear: bias, swiglu: swiglu, dtRank: dtRank, vocabRows: vocabRows)
}

/// The configs most tests run: the published pattern, an odd one with linear biases and plain
/// GELU experts, Mamba layers only, and a wider state with a longer conv.
let testConfigs: [BlackMambaConfig] = [
    testConfig(["r", "8", "r", "8"]),
    testConfig(["r", "r", "3", "r", "3"], bias: true, swiglu: false),
    testConfig(["r", "r"], state: 6),
    testConfig(["r", "4"], hidden: 24, state: 8, conv: 4, dtRank: 2),
]

/// Random values for one tensor, scaled like a trained model's so activations stay near 1
/// and delta stays in Mamba's usual range.
private func randomValues(_ name: String, _ shape: [Int], _ random: inout TestRandom) -> [Double] {
    let count = shape.reduce(1, *)
    let fanIn = Double(shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1)
    func fill(_ value: (inout TestRandom) -> Double) -> [Double] { (0..<count).map { _ in value(&random) } }
    switch name {
    case TensorNames.embedding: return fill { $0.uniform(-1, 1) }
    case _ where name.hasSuffix("norm.weight") || name == TensorNames.finalNormWeight: return fill { $0.uniform(0.8, 1.2) }
    case _ where name.hasSuffix("A_log"): return fill { log($0.uniform(1, 16)) }
    case _ where name.hasSuffix(".D"): return fill { $0.uniform(0.5, 1.5) }
    case _ where name.hasSuffix("dt_proj.bias"): return fill { log(expm1(exp($0.uniform(log(0.001), log(0.1))))) }
    case _ where name.hasSuffix("conv1d.weight"): return fill { $0.uniform(-0.6, 0.6) }
    case _ where shape.count == 1: return fill { $0.uniform(-0.2, 0.2) }
    default: return fill { $0.uniform(-1, 1) / fanIn.squareRoot() }
    }
}

/// A tensor of `values` stored as `dtype` (f32, bf16 or f16).
func tensor(_ values: [Double], shape: [Int], dtype: DType = .f32) -> Tensor {
    let storage = Storage(byteCount: values.count * dtype.size) { raw in
        for (i, v) in values.enumerated() {
            switch dtype {
            case .bf16: raw.storeBytes(of: FloatBits.floatToBF16(Float(v)), toByteOffset: 2 * i, as: UInt16.self)
            case .f16: raw.storeBytes(of: FloatBits.floatToF16(Float(v)), toByteOffset: 2 * i, as: UInt16.self)
            default: raw.storeBytes(of: Float(v), toByteOffset: 4 * i, as: Float.self)
            }
        }
    }
    return try! Tensor(storage: storage, dtype: dtype, shape: shape)
}

/// A random state dict for `config`. With `tiedRouters`, experts 0 and 1 of every MoE layer get
/// the same router row and a bias that makes them win: top-1 must then pick expert 0.
func randomTensors(_ config: BlackMambaConfig, seed: UInt64, dtype: DType = .f32, tiedRouters: Bool = false) -> [String: Tensor] {
    var random = TestRandom(seed: seed)
    var tensors: [String: Tensor] = [:]
    for (name, shape) in config.expectedTensors {
        var values = randomValues(name, shape, &random)
        if tiedRouters, name.hasSuffix("router.weight"), shape[0] > 1 {
            for k in 0..<shape[1] { values[shape[1] + k] = values[k] }
        }
        if tiedRouters, name.hasSuffix("router.bias"), shape[0] > 1 {
            values[0] = 3
            values[1] = 3
        }
        tensors[name] = tensor(values, shape: shape, dtype: dtype)
    }
    return tensors
}

/// ||a - b|| / ||b||
func relativeL2<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        difference += (Double(x) - Double(y)) * (Double(x) - Double(y))
        norm += Double(y) * Double(y)
    }
    return (difference / norm).squareRoot()
}

/// Row `r` of a row-major [rows, width] buffer.
func row(_ values: [Float], _ r: Int, width: Int) -> ArraySlice<Float> {
    values[r * width..<(r + 1) * width]
}
