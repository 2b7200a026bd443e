import CMoltKernels
import MoltCore

/// The mixers' element-wise kernels (Formats/model.md, "Mamba mixer" and "MoE mixer";
/// Formats/kernels.md, "The mixers' element-wise steps").
public enum ElementwiseKernels {
    /// The selective scan over `steps` positions for the channels in `channels`, carrying each
    /// channel's state row h[c, 0..<N] (at state + c * N) from one position to the next:
    ///     h = exp(delta * A) * h + delta * B * u,    y = h · C + D * u
    /// `u`, `delta` and `y` are [steps, di]; B of position t starts at bc + t * bcStride, C N
    /// after. Channels are independent, so disjoint channel ranges can run concurrently.
    public static func scan(
        steps: Int, u: UnsafePointer<Float>, delta: UnsafePointer<Float>, di: Int, bc: UnsafePointer<Float>,
        bcStride: Int, stateSize n: Int, a: UnsafePointer<Float>, d: UnsafePointer<Float>,
        state: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, channels: Range<Int>,
        path: KernelPath = .best
    ) {
        molt_selective_scan(
            Int64(steps), u, delta, Int64(di), bc, Int64(bcStride), Int64(n), a, d, state, y,
            Int64(channels.lowerBound), Int64(channels.upperBound), path.c)
    }

    /// x = softplus(x + bias) = log(1 + e^(x + bias)) over `count` values (x + bias above 20
    /// stays).
    public static func softplus(
        _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, count: Int, path: KernelPath = .best
    ) {
        molt_softplus(x, bias, Int64(count), path.c)
    }

    /// out = silu(x) * gate (or silu(x) without a gate) over `count` values, silu(v) =
    /// v / (1 + e^-v): the Mamba mixer's activation after its convolution, and its gate. `out`
    /// may be `x` or `gate`.
    public static func silu(
        _ x: UnsafePointer<Float>, gate: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, count: Int,
        path: KernelPath = .best
    ) {
        molt_silu(out, x, gate, Int64(count), path.c)
    }

    /// out = gelu(x) * gate (or gelu(x) without a gate) over `count` values, gelu(v) = v Φ(v) the
    /// exact (erf) form: an expert's activation. `out` may be `x` or `gate`.
    public static func gelu(
        _ x: UnsafePointer<Float>, gate: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, count: Int,
        path: KernelPath = .best
    ) {
        molt_gelu(out, x, gate, Int64(count), path.c)
    }
}
