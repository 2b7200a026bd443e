import MoltCore

/// Sees what the forward pass computes for one sequence, as it computes it. Installed on the
/// sequence's state (`DecodeState.observer`): the parity check records routes and residuals,
/// calibration (Formats/calibration.md) the inputs of the weight products. Every member does
/// nothing unless implemented. Called on the thread running the forward pass, in order; the
/// values are only valid during the call.
public protocol ForwardObserver: AnyObject {
    /// `count` input rows of `columns` values, `stride` apart, about to be multiplied by the
    /// weight named `weight` (a state-dict key); the embedding's are the final norm's output.
    /// A MoE layer's router sees all of the rows; each expert's fc1 and fc2 only those routed
    /// to it. Consecutive sequences of one pass that share an observer come in one call.
    func multiplying(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int)
    /// The experts MoE layer `layer` chose for the positions just run, in order.
    func routed(layer: Int, experts: ArraySlice<Int>)
    /// The residual stream [positions, hidden] after layer `layer`, for the positions just run.
    func residual(layer: Int, _ values: UnsafeBufferPointer<Float>)
}

extension ForwardObserver {
    public func multiplying(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int) {}
    public func routed(layer: Int, experts: ArraySlice<Int>) {}
    public func residual(layer: Int, _ values: UnsafeBufferPointer<Float>) {}
}

/// Records routes, and residual streams when asked, position after position.
public final class LayerRecorder: ForwardObserver {
    /// MoE layer index -> chosen expert per recorded position: to see how often quantization
    /// changes the routing.
    public private(set) var routes: [Int: [Int]] = [:]
    /// Layer index -> residual stream [positions, hidden] after that layer, when `residuals`
    /// was asked for: to find the first layer where a converted model drifts from its source.
    public private(set) var residuals: [Int: [Float]] = [:]
    private let recordsResiduals: Bool

    public init(residuals: Bool = false) {
        recordsResiduals = residuals
    }

    public func routed(layer: Int, experts: ArraySlice<Int>) {
        routes[layer, default: []] += experts
    }

    public func residual(layer: Int, _ values: UnsafeBufferPointer<Float>) {
        if recordsResiduals { residuals[layer, default: []] += values }
    }
}

/// An observer and the rows of the pass it sees: those of consecutive segments sharing it.
struct ObservedRows {
    let observer: ForwardObserver
    var rows: Range<Int>

    /// The segments' observers, consecutive segments with the same one merged; empty when
    /// nothing observes the pass, which is then free of any reporting work.
    static func of(_ segments: [Segment]) -> [ObservedRows] {
        var runs: [ObservedRows] = []
        for s in segments {
            guard let observer = s.state.observer else { continue }
            if let last = runs.last, last.observer === observer, last.rows.upperBound == s.row {
                runs[runs.count - 1].rows = last.rows.lowerBound..<s.rows.upperBound
            } else {
                runs.append(ObservedRows(observer: observer, rows: s.rows))
            }
        }
        return runs
    }
}

extension ForwardPass {
    /// Shows the observers the input rows of a product with the weight named `weight`: the
    /// pass's rows (or the first `count`), the first `columns` of each (all by default). With
    /// `positions`, row j of `x` holds position positions[j] (ascending), as gathered rows do.
    func observe(
        _ weight: @autoclosure () -> String, _ x: Rows, rows count: Int? = nil, columns: Int? = nil,
        positions: [Int]? = nil
    ) {
        guard !observed.isEmpty else { return }
        let name = weight(), n = count ?? rows
        for o in observed {
            // The rows of x whose positions the observer sees: one run, positions ascending.
            let first = (0..<n).first { o.rows.contains(positions?[$0] ?? $0) } ?? n
            let end = (first..<n).first { !o.rows.contains(positions?[$0] ?? $0) } ?? n
            guard end > first else { continue }
            o.observer.multiplying(name, rows: x[first], count: end - first, stride: x.width, columns: columns ?? x.width)
        }
    }

    /// Shows each sequence's observer what layer `i` computed for its positions.
    func report(layer i: Int, _ mixer: MixerWeights) {
        for s in segments {
            guard let observer = s.state.observer else { continue }
            if case .moe = mixer { observer.routed(layer: i, experts: a.expert[s.rows]) }
            observer.residual(layer: i, UnsafeBufferPointer(start: a.x[s.row], count: s.tokens.count * a.x.width))
        }
    }

    /// Shows the observers the output matrix's input for every row, whichever rows' logits
    /// are asked for.
    func observeFinalNorm() {
        guard !observed.isEmpty else { return }
        let weights = model.weights
        for r in 0..<rows {
            layerNorm(a.x[r], weight: weights.finalNormWeight, bias: weights.finalNormBias, into: a.normed[r], count: a.x.width)
        }
        observe(TensorNames.embedding, a.normed)
    }
}
