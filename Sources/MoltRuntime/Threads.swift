import COpenBLAS
import MoltKernels

extension KernelThreads {
    /// A pool of `count` threads for a model, with OpenBLAS (the f32 products) set to as many,
    /// so that one setting (`molt run -t`) bounds both.
    public static func forModel(count: Int) -> KernelThreads {
        openblas_set_num_threads(Int32(clamping: count))
        return KernelThreads(count: count)
    }
}
