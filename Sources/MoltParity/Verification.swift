import MoltCore
import MoltFormat
import MoltKernels
import MoltQuant
import MoltRuntime

/// The verification of a conversion against its source (Formats/parity.md): started before
/// the converted file exists, so that the source's side runs while the conversion is written
/// (or its checksums checked), and finished on the converted file.
public struct Verification {
    var check: ParityCheck
    /// The stored type of each tensor the source side was bound for.
    let types: [String: MoltTensorType]
    let reference: Background<ParityCheck.Reference>

    /// Starts the source's side of the parity check on threads of its own: it needs only the
    /// source and the type each tensor is stored as (`storedAs`). A lossless conversion (every
    /// tensor stored exactly) must then give bit-identical logits; others must meet
    /// `thresholds`.
    public static func start(
        sourceConfig: BlackMambaConfig, sourceTensors: [String: Tensor], storedAs types: [String: MoltTensorType],
        sequences: [VerificationSequence], thresholds: Thresholds
    ) throws -> Verification {
        var tensors = sourceTensors
        var lossless = true
        for (name, type) in types {
            guard let original = sourceTensors[name] else {
                lossless = false
                continue
            }
            lossless = lossless && type.holdsExactly(original.dtype)
            // A half-precision source widened to f32 by the recipe runs through OpenBLAS in the
            // conversion, so its source runs there too: the same values through the same
            // arithmetic is what makes bit-identical logits a fair demand.
            if type == .f32, original.dtype != .f32 { tensors[name] = try original.converted(to: .f32) }
        }
        let check = ParityCheck(sequences: sequences, thresholds: lossless ? nil : thresholds)
        // On a thread of its own with one kernel thread, waiting out the quantizer's stretches
        // on every core (BusyCores) before each product: it runs in the time the conversion
        // leaves idle, between tensors, and at full speed once the conversion is done. Nice
        // 10 keeps it from slowing the conversion's single-threaded stretches, while it still
        // gets a share of a core beside other work, where an idle scheduling priority stalls
        // (BENCHMARKS.md, "Conversion and verification", measures the choices).
        let reference = Background(.dedicated(niceness: 10)) { [tensors] in
            try check.reference(
                BlackMambaModel(
                    config: sourceConfig, tensors: tensors, kernels: KernelThreads(count: 1),
                    beforeEachProduct: BusyCores.waitUntilFree))
        }
        return Verification(check: check, types: types, reference: reference)
    }

    /// The same check for a conversion whose tensors are stored as `types` instead
    /// (`--target-kl` widening quantized tensors, Formats/calibration.md): allowed when the
    /// source's side needs no other preparation, i.e. no tensor became or stopped being f32.
    public func retyped(_ types: [String: MoltTensorType]) throws -> Verification {
        guard Set(types.keys) == Set(self.types.keys), types.allSatisfy({ ($0.value == .f32) == (self.types[$0.key] == .f32) }) else {
            throw MoltError(.usage, "the source's side of the check cannot be reused for these types")
        }
        return Verification(check: check, types: types, reference: reference)
    }

    /// Runs the .molt at `convertedPath` and judges it against the source's side.
    public func finish(convertedPath: String) throws -> ParityReport {
        let file = try MoltFile(path: convertedPath)
        guard file.storedTypes == types else {
            throw MoltError.badInput("\(convertedPath): its tensors are not stored as the source's side of the check assumed")
        }
        var check = check
        for entry in file.header.tensors {
            if let e = entry.quantError { check.tensorErrors[entry.name] = e.relRMS }
        }
        let converted = try BlackMambaModel(molt: file)
        return try check.run(converted: converted) { try reference.wait() }
    }
}
