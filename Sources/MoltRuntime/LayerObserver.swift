/// Sees what each layer computed for one sequence, as the forward pass computes it: the
/// parity check installs one (`DecodeState.observer`) to compare a converted model's routing
/// and residual stream with its source's.
public protocol LayerObserver: AnyObject {
    /// The experts MoE layer `layer` chose for the positions just run, in order.
    func routed(layer: Int, experts: ArraySlice<Int>)
    /// The residual stream [positions, hidden] after layer `layer`, for the positions just run.
    func residual(layer: Int, _ values: UnsafeBufferPointer<Float>)
}

/// Records routes, and residual streams when asked, position after position.
public final class LayerRecorder: LayerObserver {
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
