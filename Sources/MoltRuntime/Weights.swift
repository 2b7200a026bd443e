#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoltCore
import MoltKernels

/// A row-major matrix [rows, cols] in PyTorch's [out, in] layout (a vector when rows == 1):
/// f32 values the runtime reads directly, or packed weights (f16, bf16, q8, q4) only the
/// kernels read, which the binder gives to projections and the embedding alone.
struct Matrix {
    private let values: UnsafePointer<Float>?
    let packed: WeightMatrix?
    let rows: Int
    let cols: Int

    init(base: UnsafePointer<Float>, rows: Int, cols: Int) {
        values = base
        packed = nil
        self.rows = rows
        self.cols = cols
    }

    init(packed: WeightMatrix) {
        values = nil
        self.packed = packed
        rows = packed.rows
        cols = packed.columns
    }

    /// The f32 values; the binder never packs a matrix whose values are read directly.
    var base: UnsafePointer<Float> { values! }

    func row(_ r: Int) -> UnsafePointer<Float> { base + r * cols }

    /// Row `r` as f32 values: copied, or dequantized from packed weights.
    func copyRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        if let packed { packed.dequantizeRow(r, into: out) } else { out.update(from: row(r), count: cols) }
    }

    var byteCount: Int { packed?.byteCount ?? rows * cols * MemoryLayout<Float>.size }
}

struct MambaWeights {
    /// Which of the decode state's Mamba slots holds this layer's conv inputs and scan state.
    let slot: Int
    /// [2Di, H]: rows 0..<Di give the convolution input x, rows Di..<2Di the gate z.
    let inProj: Matrix
    let inBias: UnsafePointer<Float>?
    /// [Di, K] (stored [Di, 1, K]): output t of channel c sums weight[c, k] * x[t-K+1+k, c].
    let convWeight: Matrix
    let convBias: UnsafePointer<Float>
    /// [R + 2N, Di]: output columns split as delta rank R, then B (N), then C (N).
    let xProj: Matrix
    let dtProj: Matrix
    let dtBias: UnsafePointer<Float>
    /// A = -exp(A_log), [Di, N], computed once at bind time.
    let a: UnsafePointer<Float>
    let d: UnsafePointer<Float>
    let outProj: Matrix
    let outBias: UnsafePointer<Float>?

    /// Di, N, R and K, read back from the shapes.
    var inner: Int { outProj.cols }
    var stateSize: Int { (xProj.rows - dtProj.cols) / 2 }
    var rank: Int { dtProj.cols }
    var kernel: Int { convWeight.cols }
}

struct ExpertWeights {
    /// [2F, H] when gated (rows 0..<F gate, F..<2F up), else [F, H].
    let fc1: Matrix
    let fc1Bias: UnsafePointer<Float>?
    let fc2: Matrix
    let fc2Bias: UnsafePointer<Float>?

    var ffn: Int { fc2.cols }
    var gated: Bool { fc1.rows == 2 * fc2.cols }
}

struct MoEWeights {
    let router: Matrix
    let routerBias: UnsafePointer<Float>
    let experts: [ExpertWeights]
}

enum MixerWeights {
    case mamba(MambaWeights)
    case moe(MoEWeights)
}

struct LayerWeights {
    let norm: UnsafePointer<Float>
    let mixer: MixerWeights
}

struct ModelWeights {
    /// [V, H]: the token embeddings, tied to the output matrix. Rows are looked up (dequantized
    /// when packed) and the logits multiply by all of it, so packed weights serve both.
    let embedding: Matrix
    let layers: [LayerWeights]
    let finalNormWeight: UnsafePointer<Float>
    let finalNormBias: UnsafePointer<Float>
    let outputBias: UnsafePointer<Float>?
}

/// Turns named tensors into f32 pointers. Aligned contiguous f32 tensors are read in place, so
/// their storages (often memory-mapped files) are retained; anything else is widened to f32
/// once into memory this binder owns.
struct WeightBinder {
    let tensors: [String: Tensor]
    let packed: [String: WeightMatrix]
    private(set) var retained: [Tensor] = []
    private(set) var owned: [FloatBuffer] = []

    init(tensors: [String: Tensor], packed: [String: WeightMatrix]) {
        self.tensors = tensors
        self.packed = packed
    }

    /// A weight only multiplied by activations: packed when the caller gave it packed, and
    /// f16/bf16 read in place through the kernels (which widen exactly, as they load), so a
    /// half-precision checkpoint costs its own size in memory, not twice that in f32.
    mutating func projection(_ name: String) throws -> Matrix {
        if let weights = try packedMatrix(name) { return Matrix(packed: weights) }
        return try matrix(name)
    }

    /// A weight always multiplied by Molt's kernels, f32 included: for products as small as a
    /// router's [E, H], where OpenBLAS's threads, spinning between calls, cost more than the
    /// product.
    mutating func kernelProjection(_ name: String) throws -> Matrix {
        if let weights = try packedMatrix(name) { return Matrix(packed: weights) }
        let values = try matrix(name)
        // The binder's retained tensors or owned buffers, which the model keeps, hold the values.
        return Matrix(packed: try WeightMatrix(
            element: .f32, rows: values.rows, columns: values.cols, pointer: UnsafeRawPointer(values.base),
            byteCount: values.byteCount))
    }

    /// The weight as the kernels read it, or nil for f32 ones (OpenBLAS reads those).
    func packedMatrix(_ name: String) throws -> WeightMatrix? {
        if let weights = packed[name] { return weights }
        guard let tensor = tensors[name], tensor.dtype == .f16 || tensor.dtype == .bf16, tensor.shape.count == 2,
              tensor.isContiguous, Int(bitPattern: tensor.storage.bytes.baseAddress) % 2 == 0
        else { return nil }
        return try WeightMatrix(tensor)
    }

    /// The tensor as a matrix of its first dimension by the product of the others.
    mutating func matrix(_ name: String) throws -> Matrix {
        guard let tensor = tensors[name] else { throw MoltError.badInput("missing tensor \(name)") }
        let rows = tensor.shape.first ?? 1
        let cols = rows == 0 ? 0 : tensor.count / rows
        return Matrix(base: try floats(tensor, name: name), rows: rows, cols: cols)
    }

    mutating func vector(_ name: String) throws -> UnsafePointer<Float> {
        try matrix(name).base
    }

    mutating func optionalVector(_ name: String, present: Bool) throws -> UnsafePointer<Float>? {
        present ? try vector(name) : nil
    }

    /// `transform` applied to every value of a tensor, kept in memory the binder owns: for
    /// constants the forward pass would otherwise recompute every token, such as -exp(A_log).
    mutating func derived(_ name: String, _ transform: (Float) -> Float) throws -> UnsafePointer<Float> {
        guard let tensor = tensors[name] else { throw MoltError.badInput("missing tensor \(name)") }
        let buffer = FloatBuffer(count: tensor.count)
        try tensor.withFloats { source in
            for j in source.indices { buffer.base[j] = transform(source[j]) }
        }
        owned.append(buffer)
        return UnsafePointer(buffer.base)
    }

    private mutating func floats(_ tensor: Tensor, name: String) throws -> UnsafePointer<Float> {
        guard tensor.dtype.isFloatingPoint else {
            throw MoltError.unsupported("tensor \(name) is \(tensor.dtype.rawValue): weights must be floating point")
        }
        if tensor.dtype == .f32, tensor.isContiguous, let start = tensor.storage.bytes.baseAddress {
            let address = start + tensor.offset * 4
            if Int(bitPattern: address) % MemoryLayout<Float>.alignment == 0 {
                retained.append(tensor)
                return address.assumingMemoryBound(to: Float.self)
            }
        }
        let buffer = FloatBuffer(count: tensor.count)
        try tensor.withFloats { source in
            if let from = source.baseAddress { buffer.base.update(from: from, count: source.count) }
        }
        owned.append(buffer)
        return UnsafePointer(buffer.base)
    }
}

extension ModelWeights {
    /// Binds every tensor `config` needs; `tensors` must already match `config.expectedTensors`.
    init(config: BlackMambaConfig, binder: inout WeightBinder) throws {
        let bias = config.addBiasLinear
        var layers: [LayerWeights] = []
        var slots = 0
        for (i, kind) in config.layers.enumerated() {
            let mixer: MixerWeights
            switch kind {
            case .mamba:
                let name = { (suffix: String) in TensorNames.mamba(i, suffix) }
                mixer = .mamba(MambaWeights(
                    slot: slots,
                    inProj: try binder.projection(name("in_proj.weight")),
                    inBias: try binder.optionalVector(name("in_proj.bias"), present: bias),
                    convWeight: try binder.matrix(name("conv1d.weight")),
                    convBias: try binder.vector(name("conv1d.bias")),
                    xProj: try binder.projection(name("x_proj.weight")),
                    dtProj: try binder.projection(name("dt_proj.weight")),
                    dtBias: try binder.vector(name("dt_proj.bias")),
                    a: try binder.derived(name("A_log")) { -expf($0) },
                    d: try binder.vector(name("D")),
                    outProj: try binder.projection(name("out_proj.weight")),
                    outBias: try binder.optionalVector(name("out_proj.bias"), present: bias)))
                slots += 1
            case .moe(let count):
                var experts: [ExpertWeights] = []
                for e in 0..<count {
                    let name = { (suffix: String) in TensorNames.expert(i, e, suffix) }
                    experts.append(ExpertWeights(
                        fc1: try binder.projection(name("linear_fc1.weight")),
                        fc1Bias: try binder.optionalVector(name("linear_fc1.bias"), present: bias),
                        fc2: try binder.projection(name("linear_fc2.weight")),
                        fc2Bias: try binder.optionalVector(name("linear_fc2.bias"), present: bias)))
                }
                mixer = .moe(MoEWeights(
                    router: try binder.kernelProjection(TensorNames.router(i, "weight")),
                    routerBias: try binder.vector(TensorNames.router(i, "bias")),
                    experts: experts))
            }
            layers.append(LayerWeights(norm: try binder.vector(TensorNames.norm(i)), mixer: mixer))
        }
        self.init(
            embedding: try binder.projection(TensorNames.embedding),
            layers: layers,
            finalNormWeight: try binder.vector(TensorNames.finalNormWeight),
            finalNormBias: try binder.vector(TensorNames.finalNormBias),
            outputBias: try binder.optionalVector(TensorNames.outputBias, present: bias))
    }
}
