import Foundation
import MoltCore

extension ParityReport {
    /// A parity report's JSON (`json`, or as a .molt header stores it) as people read it: one
    /// row per sequence, perplexity with the tokens it is over, per-layer errors, routing and
    /// the verdict. `molt convert`, `verify` and `inspect` all print this.
    public static func text(of json: JSON) -> String {
        guard let passed = json["passed"], case .bool(let ok) = passed else {
            return "parity: not verified (converted with --no-verify)"
        }
        func row(_ name: String, _ m: JSON?) -> [String] {
            let m = m ?? .null
            return [name, String(Int(m["positions"].number)), format("%.2e", m["logits_rel_l2"]), format("%.2e", m["logits_max_abs"]),
                    format("%.2e", m["kl_mean"]), format("%.2e", m["kl_max"]), format("%.3f", m["top1"]), format("%.3f", m["top5_overlap"])]
        }
        var rows = [["sequence", "tokens", "rel L2", "max abs", "KL mean", "KL max", "top-1", "top-5"]]
        let sequences = json["sequences"].items
        for s in sequences {
            rows.append(row(s["name"].string, s["prefill"]))
            rows.append(row("  decode", s["decode"]))
        }
        rows.append(row("all (prefill)", json["prefill"]))
        rows.append(row("all (decode)", json["decode"]))
        var lines = [TextTable.render(rows, rightAligned: Set(1...7)), ""]
        let byText = json["perplexity_by_text"].items
        for text in byText {
            let s = text["source"].number, c = text["converted"].number
            let name = text["text"].string, pieces = Int(text["sequences"].number)
            let length = name == "calibration" ? VerificationSet.calibrationLength : VerificationSet.builtInLength
            var what = String(format: "%d pieces of up to %d tokens, each piece's first token unpredicted", pieces, length)
            if name == "calibration" { what += ": molt perplexity --context \(length) --chunks \(pieces) scores the same" }
            lines.append(String(format: "perplexity on %@: source %.3f, converted %.3f (%+.2f%%) over %d predicted tokens (%@)",
                                name == "text" ? "the built-in text" : "the --\(name) text", s, c, (c / s - 1) * 100,
                                Int(text["tokens"].number), what))
        }
        if byText.isEmpty, let perplexity = json["perplexity"], case .object = perplexity {
            let s = perplexity["source"].number, c = perplexity["converted"].number
            // A report stored before perplexity_by_text: one figure over every text sequence.
            let text = sequences.filter { $0["prefill"]?["perplexity_source"] != nil }.map { $0["name"].string }
            let tokens = perplexity["tokens"].map { "the \(Int(Optional($0).number)) predicted tokens" } ?? "the tokens"
            lines.append(String(format: "perplexity: source %.3f, converted %.3f (%+.2f%%) over %@ of %@",
                                s, c, (c / s - 1) * 100, tokens, text.joined(separator: ", ")))
        }
        let residuals = json["residuals"].items
        lines.append("residual error after each layer: "
            + residuals.map { String(format: "%d:%.1e", Int($0["layer"].number), $0["rel_error"].number) }.joined(separator: " "))
        let routing = json["routing"].items
        if !routing.isEmpty {
            lines.append("same expert chosen: "
                + routing.map { String(format: "layer %d %.1f%%", Int($0["layer"].number), $0["agreement"].number * 100) }.joined(separator: ", "))
        }
        if json["prefill"]?["bit_identical"] == .bool(true), json["decode"]?["bit_identical"] == .bool(true) {
            lines.append("logits are bit-identical to the source")
        }
        lines.append(ok ? "parity: PASSED" : "parity: FAILED: " + json["failures"].items.map(\.string).joined(separator: "; "))
        return lines.joined(separator: "\n")
    }

    private static func format(_ format: String, _ value: JSON?) -> String {
        String(format: format, value.number)
    }
}

private extension Optional where Wrapped == JSON {
    var number: Double {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: .nan
        }
    }

    var items: [JSON] {
        if case .array(let items) = self { items } else { [] }
    }

    var string: String {
        if case .string(let text) = self { text } else { "" }
    }
}

private extension JSON {
    var string: String { Optional(self).string }
}
