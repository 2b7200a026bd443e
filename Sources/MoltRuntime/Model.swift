import COpenBLAS
import MoltCore
import MoltKernels

/// A BlackMamba model bound to its weights. It never changes after `init`, so several
/// `DecodeState`s (sequences) can use it, from different threads too.
public final class BlackMambaModel: @unchecked Sendable {
    /// The config, with `dtRank` and `vocabRows` read from the weights' shapes.
    public let config: BlackMambaConfig
    let weights: ModelWeights
    /// f32 tensors read in place: holding them keeps their storage (often a mapped file) alive.
    let retained: [Tensor]
    /// Weights widened to f32 at bind time, and constants derived from weights.
    let owned: [FloatBuffer]
    /// The threads Molt's kernels and the runtime's own loops run on.
    let kernels: KernelThreads
    /// Parts the runtime's loops are split into: as many as OpenBLAS uses (so one setting,
    /// OPENBLAS_NUM_THREADS, controls both), at most the kernels' threads.
    let threads: Int
    /// Called before every matrix product: lets a model run in the background wait out
    /// other work's busy stretches (BusyCores).
    let beforeEachProduct: (() -> Void)?

    /// Binds `tensors` (a state dict) after checking that every tensor `config` implies is
    /// present with its shape, and no other; all mismatches are listed in one error.
    /// Weights in `packed` (q8/q4 read in place from a .molt), and f16/bf16 ones in `tensors`,
    /// run through Molt's kernels; they may be projection weights or the embedding (whose rows
    /// are then dequantized as they are looked up). `kernels` are the threads it runs on: a
    /// model given its own can run beside other work without taking turns on the shared ones.
    public init(
        config: BlackMambaConfig, tensors: [String: Tensor], packed: [String: WeightMatrix] = [:],
        kernels: KernelThreads = .shared, beforeEachProduct: (() -> Void)? = nil
    ) throws {
        let shapes = tensors.mapValues(\.shape).merging(packed.mapValues { [$0.rows, $0.columns] }) { a, _ in a }
        let config = config.resolved(shapes: shapes)
        let problems = config.shapeProblems(shapes)
        guard problems.isEmpty else {
            throw MoltError.tensorsDoNotMatchConfig(problems: problems)
        }
        var binder = WeightBinder(tensors: tensors, packed: packed)
        weights = try ModelWeights(config: config, binder: &binder)
        retained = binder.retained
        owned = binder.owned
        self.config = config
        self.kernels = kernels
        self.beforeEachProduct = beforeEachProduct
        threads = max(1, min(Int(openblas_get_num_threads()), kernels.count))
    }

    /// True when decode steps round some activations to integers (the q8 and q4 matrix-vector
    /// products do), so decode matches prefill to 1e-5 to 1e-3 rather than to f32 rounding.
    public var quantizesDecodeActivations: Bool {
        var matrices = [weights.embedding]
        for layer in weights.layers {
            switch layer.mixer {
            case .mamba(let m): matrices += [m.inProj, m.xProj, m.dtProj, m.outProj]
            case .moe(let moe): matrices += [moe.router] + moe.experts.flatMap { [$0.fc1, $0.fc2] }
            }
        }
        return matrices.contains { ($0.packed?.activations ?? .float32) != .float32 }
    }

    /// Rows of the embedding: the valid token ids are 0..<vocabRows.
    public var vocabRows: Int { config.vocabRows }

    /// A fresh sequence: zero convolution history and scan state.
    public func makeState() -> DecodeState {
        DecodeState(model: self)
    }

    /// Refuses an empty list and names the first id outside 0..<vocabRows with its position
    /// (counted from `firstPosition`, the position of tokens[0] in its sequence).
    public func validate(tokens: [Int], firstPosition: Int = 0) throws {
        guard !tokens.isEmpty else { throw MoltError.noTokens }
        for (i, id) in tokens.enumerated() where id < 0 || id >= vocabRows {
            throw MoltError.tokenOutOfVocabulary(id: id, position: firstPosition + i, vocabularyRows: vocabRows)
        }
    }

    func check(_ state: DecodeState) throws {
        guard state.model === self else { throw MoltError.stateOfAnotherModel }
    }

    /// A batch of `count` sequences continues `states`, one each, all this model's.
    func check(batchOf count: Int, states: [DecodeState]) throws {
        guard count == states.count else {
            throw MoltError.statesDoNotMatchBatch(sequences: count, states: states.count)
        }
        guard Set(states.map(ObjectIdentifier.init)).count == states.count else {
            throw MoltError.stateGivenTwice
        }
        for state in states { try check(state) }
    }
}
