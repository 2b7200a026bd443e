import MoltCore

/// Sees the input rows of the model's weight products during prefill and decode: what
/// calibration (Formats/calibration.md) records. Called on the thread running the forward
/// pass, in order, before each product; the rows are only valid during the call.
public protocol ProductObserver: AnyObject {
    /// `count` input rows of `columns` values, `stride` apart, about to be multiplied by the
    /// weight named `weight` (a state-dict key). A MoE layer's router sees all of the layer's
    /// rows; each expert's fc1 and fc2 only the rows routed to it.
    func observe(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int)
}

extension BlackMambaModel {
    /// Tells the observer, if any, about a product's input; the name is only built when needed.
    func observe(_ weight: @autoclosure () -> String, _ rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int) {
        guard let observer, count > 0 else { return }
        observer.observe(weight(), rows: rows, count: count, stride: stride, columns: columns)
    }

    /// Expert `expert` of MoE layer `layer` applied to `count` normed rows [count, H] outside
    /// routing: its activations [count, F], the input of its fc2. For calibration of experts
    /// the router sent too few tokens; nothing of the model's state is touched.
    public func expertActivations(layer: Int, expert e: Int, rows: [Float], count: Int) throws -> [Float] {
        guard case .moe(let w) = weights.layers[layer].mixer, w.experts.indices.contains(e) else {
            throw MoltError(.usage, "layer \(layer) has no expert \(e)")
        }
        let h = config.hiddenSize, expert = w.experts[e], width = expert.fc1.rows, f = expert.ffn
        guard rows.count == count * h else { throw MoltError(.usage, "\(rows.count) values for \(count) rows of \(h)") }
        guard count > 0 else { return [] }
        let hidden = FloatBuffer(count: count * width)
        var gated = [Float](repeating: 0, count: count * f)
        rows.withUnsafeBufferPointer { x in
            matmul(x.baseAddress!, rows: count, lda: h, expert.fc1, into: hidden.base, ldc: width)
        }
        addBias(expert.fc1Bias, to: hidden.base, rows: count, width: width)
        gated.withUnsafeMutableBufferPointer { g in
            for j in 0..<count { expertActivation(hidden.base + j * width, into: g.baseAddress! + j * f, expert: expert, units: 0..<f) }
        }
        return gated
    }
}
