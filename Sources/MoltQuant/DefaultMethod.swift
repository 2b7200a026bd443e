/// `molt convert`'s quantizer when none is asked for (Formats/quantization.md, "The default
/// method"): GPTQ loses the least on every recipe measured (BENCHMARKS.md, issue 11), but its
/// work grows as out · in² per weight, so on large models it costs minutes where the weighted
/// search costs seconds. The default takes GPTQ where its counted work is small.
extension QuantMethod {
    /// GPTQ's floating-point operations for one weight [out, in]: the factor of H⁻¹ (one
    /// Cholesky factorization and one triangular inverse, 2/3 · in³) and the column updates
    /// (out · in²).
    public static func gptqWork(rows: Int, columns: Int) -> Double {
        let n = Double(columns)
        return 2.0 / 3.0 * n * n * n + Double(rows) * n * n
    }

    /// GPTQ's floating-point operations over weights of these [out, in] shapes.
    public static func gptqWork(_ shapes: [(rows: Int, columns: Int)]) -> Double {
        shapes.reduce(0) { $0 + gptqWork(rows: $1.rows, columns: $1.columns) }
    }

    /// The most GPTQ work the default takes on: about 6 s of one core at the rate measured on
    /// the Zen 4 (an expert of the 1.5B shapes, 39 GFLOP counted, in 2.3 CPU s). The trained
    /// fixture's default recipe counts 2.7 GFLOP, the 1.5B shapes' 5.2 TFLOP (about 300 CPU s).
    public static let defaultGPTQBudget = 1e11

    /// `gptq` when the weights to quantize (their [out, in] shapes) count at most
    /// `defaultGPTQBudget` of GPTQ work and the calibration can give their Gram matrices,
    /// otherwise `weighted`.
    public static func defaultMethod(quantizing shapes: [(rows: Int, columns: Int)], gramAvailable: Bool) -> QuantMethod {
        gramAvailable && gptqWork(shapes) <= defaultGPTQBudget ? .gptq : .weighted
    }
}
