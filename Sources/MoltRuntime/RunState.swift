import MoltCore

/// A row-major [rows, width] matrix of the run state: `m[r]` is row r, `m[r, c]` its column c.
/// Keeps the stride arithmetic out of the forward pass.
struct Rows {
    let buffer: FloatBuffer
    let width: Int

    init(_ rows: Int, width: Int) {
        buffer = FloatBuffer(count: rows * width)
        self.width = width
    }

    /// The rows of `buffer` taken `width` values at a time: for intermediates whose width
    /// depends on the layer, such as an expert's hidden units.
    init(viewing buffer: FloatBuffer, width: Int) {
        self.buffer = buffer
        self.width = width
    }

    var base: UnsafeMutablePointer<Float> { buffer.base }

    subscript(row: Int) -> UnsafeMutablePointer<Float> { buffer.base + row * width }

    subscript(row: Int, column: Int) -> UnsafeMutablePointer<Float> { buffer.base + row * width + column }
}

/// The run state: scratch for running up to `positions` positions through the layers at once,
/// the residual stream and every intermediate, one row per position. Allocated once per
/// prefill call or per decode state, never per token.
final class RunState {
    let positions: Int
    /// The residual stream [T, H].
    let x: Rows
    /// The normed input of the current layer's mixer [T, H]; after the last layer, the final norm.
    let normed: Rows
    // Mamba
    let xz: Rows  // [T, 2Di]: x (conv input) then z (gate) per row
    let history: Rows  // [K-1 + T, Di]: conv inputs, preceded by the K-1 from the state
    let u: Rows  // [T, Di]
    let dbc: Rows  // [T, R + 2N]: delta's low-rank input, then B, then C
    let delta: Rows  // [T, Di]
    let y: Rows  // [T, Di]
    // MoE
    let router: FloatBuffer  // [T, E], E the layer's experts
    var expert: [Int]
    var weight: [Float]
    var order: [Int]  // positions routed to the expert being run, ascending
    let gathered: Rows  // [T, H]: those positions' normed rows
    let hidden: FloatBuffer  // [T, fc1 rows]
    let gated: FloatBuffer  // [T, F]
    let expertOut: Rows  // [T, H]

    init(config c: BlackMambaConfig, positions t: Int) {
        let h = c.hiddenSize, di = c.innerSize, f = c.ffnHiddenSize
        let maxExperts = c.layers.map { if case .moe(let e) = $0 { e } else { 0 } }.max() ?? 0
        positions = t
        x = Rows(t, width: h)
        normed = Rows(t, width: h)
        xz = Rows(t, width: 2 * di)
        history = Rows(c.convDimension - 1 + t, width: di)
        u = Rows(t, width: di)
        dbc = Rows(t, width: c.dtRank + 2 * c.stateSize)
        delta = Rows(t, width: di)
        y = Rows(t, width: di)
        router = FloatBuffer(count: t * maxExperts)
        expert = [Int](repeating: 0, count: t)
        weight = [Float](repeating: 0, count: t)
        order = [Int](repeating: 0, count: t)
        gathered = Rows(t, width: h)
        hidden = FloatBuffer(count: t * (c.swiglu ? 2 * f : f))
        gated = FloatBuffer(count: t * f)
        expertOut = Rows(t, width: h)
    }

    /// Row r's gate z, the second half of its in_proj output.
    func z(_ r: Int) -> UnsafeMutablePointer<Float> { xz[r, xz.width / 2] }
}
