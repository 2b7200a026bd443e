import MoltCore

/// The run state: scratch for running up to `positions` positions through the layers at once,
/// the residual stream and every intermediate, row-major [positions, width]. Allocated once per
/// prefill call or per decode state, never per token.
final class RunState {
    let positions: Int
    /// The residual stream [T, H].
    let x: FloatBuffer
    /// The normed input of the current layer's mixer [T, H]; after the last layer, the final norm.
    let normed: FloatBuffer
    // Mamba
    let xz: FloatBuffer  // [T, 2Di]: x (conv input) then z (gate) per row
    let history: FloatBuffer  // [K-1 + T, Di]: conv inputs, preceded by the K-1 from the state
    let u: FloatBuffer  // [T, Di]
    let dbc: FloatBuffer  // [T, R + 2N]
    let delta: FloatBuffer  // [T, Di]
    let y: FloatBuffer  // [T, Di]
    // MoE
    let router: FloatBuffer  // [T, E]
    var expert: [Int]
    var weight: [Float]
    var order: [Int]  // positions routed to the expert being run, ascending
    let gathered: FloatBuffer  // [T, H]: those positions' normed rows
    let hidden: FloatBuffer  // [T, fc1 rows]
    let gated: FloatBuffer  // [T, F]
    let expertOut: FloatBuffer  // [T, H]

    init(config c: BlackMambaConfig, positions t: Int) {
        let h = c.hiddenSize, di = c.innerSize, f = c.ffnHiddenSize
        let maxExperts = c.layers.map { if case .moe(let e) = $0 { e } else { 0 } }.max() ?? 0
        positions = t
        x = FloatBuffer(count: t * h)
        normed = FloatBuffer(count: t * h)
        xz = FloatBuffer(count: t * 2 * di)
        history = FloatBuffer(count: (c.convDimension - 1 + t) * di)
        u = FloatBuffer(count: t * di)
        dbc = FloatBuffer(count: t * (c.dtRank + 2 * c.stateSize))
        delta = FloatBuffer(count: t * di)
        y = FloatBuffer(count: t * di)
        router = FloatBuffer(count: t * maxExperts)
        expert = [Int](repeating: 0, count: t)
        weight = [Float](repeating: 0, count: t)
        order = [Int](repeating: 0, count: t)
        gathered = FloatBuffer(count: t * h)
        hidden = FloatBuffer(count: t * (c.swiglu ? 2 * f : f))
        gated = FloatBuffer(count: t * f)
        expertOut = FloatBuffer(count: t * h)
    }
}
