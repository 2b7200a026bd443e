/// Bytes of weights one decode step reads: the memory traffic that bounds decode speed on a
/// CPU. Every Mamba layer is read whole, each MoE layer its router and one expert (the
/// average expert, since routing varies), and the tied [V, H] output matrix in full.
extension BlackMambaModel {
    public var activeBytesPerToken: Int {
        let w = weights
        let h = config.hiddenSize
        var bytes = h * 4 + w.embedding.byteCount + 2 * h * 4
        for layer in w.layers {
            bytes += h * 4
            switch layer.mixer {
            case .mamba(let m):
                bytes += m.inProj.byteCount + m.convWeight.byteCount + m.xProj.byteCount + m.dtProj.byteCount
                    + m.outProj.byteCount + 6 * m.inner * 4 + m.inner * m.stateSize * 4
            case .moe(let moe):
                let experts = moe.experts.reduce(0) { $0 + $1.fc1.byteCount + $1.fc2.byteCount }
                bytes += moe.router.byteCount + moe.experts.count * 4 + experts / max(moe.experts.count, 1)
            }
        }
        return bytes
    }
}
