import Foundation
import MoltFormat
import MoltParity
import MoltQuant

/// What to try after a failed parity check, in the order a user would try it: a failed check
/// exits 3, and without these lines that is a dead end.
enum ParityAdvice {
    /// `converting` adds the flags only `convert` takes; `kept` says --keep-failed was given.
    static func lines(for report: ParityReport, storedTypes: [String: MoltTensorType], converting: Bool, kept: Bool) -> [String] {
        var lines: [String] = []
        if let worst = report.jump?.tensors.first, let type = storedTypes[worst.name], let wider = wider(than: type) {
            let flag = "--" + Recipe.group(of: worst.name).rawValue
            lines.append(String(
                format: "store the layer the report blames wider: %@ is %@ with rel rms %.3g; convert with %@ %@",
                worst.name, type.rawValue, worst.relRMS, flag, wider.rawValue))
        }
        if let thresholds = report.thresholds {
            var loosen: [String] = []
            let kl = report.worstMeanKL, top1 = report.worstTop1
            if !(kl <= thresholds.maxMeanKL) { loosen.append(String(format: "--max-kl %.3g (measured %.3g)", kl * 1.5, kl)) }
            if top1 < thresholds.minTop1 { loosen.append(String(format: "--min-top1 %.2f (measured %.3f)", max(0, top1 - 0.01), top1)) }
            if let worst = report.routing.map(\.agreement).min(), worst < thresholds.minRouting {
                loosen.append(String(format: "--min-routing %.2f (worst layer %.3f)", max(0, worst - 0.01), worst))
            }
            if !loosen.isEmpty {
                lines.append("or accept this much difference, if it is expected (a small or random model flips its "
                    + "routing easily): " + loosen.joined(separator: ", "))
            }
        }
        if converting {
            if !kept {
                lines.append("--keep-failed FILE keeps the converted file to study (every command that runs or exports it warns)")
            }
            lines.append("--no-verify skips the check (recorded in the file)")
        }
        return lines
    }

    static func print(for report: ParityReport, storedTypes: [String: MoltTensorType], converting: Bool, kept: Bool = false) {
        for line in lines(for: report, storedTypes: storedTypes, converting: converting, kept: kept) { Terminal.note("try: " + line) }
    }

    /// The next type up that holds more of each weight.
    static func wider(than type: MoltTensorType) -> MoltTensorType? {
        switch type {
        case .q4: .q8
        case .q8: .f16
        case .f16, .bf16: .f32
        case .f32: nil
        }
    }
}
