import Foundation
import MoltCore
import MoltFormat
import MoltParity

/// What `molt inspect` reports about a .molt file: header, recipe, provenance, per-tensor
/// types and quantization errors, and the parity report of its conversion.
struct MoltInspectReport {
    let file: MoltFile
    let checksums: Checksums

    enum Checksums: String {
        case match, mismatch
        case notChecked = "not checked"
    }

    var json: JSON {
        let header = file.header
        return .object([
            ("format", .string("molt")),
            ("format_version", .string(header.formatVersion)),
            ("tool", .string("\(header.tool.name) \(header.tool.version)")),
            ("metadata", .object(header.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
            ("config", file.config.json),
            ("quantization", header.quantization),
            ("provenance", .object([
                ("created", .string(header.provenance.created)),
                ("sources", .array(header.provenance.sources.map {
                    .object([("name", .string($0.name)), ("path", .string($0.path)), ("sha256", .string($0.sha256)),
                             ("size", .int($0.size))])
                })),
            ])),
            ("tokenizer", header.tokenizer.map(JSON.string) ?? .null),
            ("tensors", .array(header.tensors.map { entry in
                var fields: [(String, JSON)] = [
                    ("name", .string(entry.name)), ("type", .string(entry.type.rawValue)), ("shape", JSON(entry.shape)),
                    ("bytes", .int(entry.length)),
                ]
                if let group = entry.groupSize { fields.append(("group_size", .int(group))) }
                if let error = entry.quantError {
                    fields.append(("rel_rms", .double(error.relRMS)))
                    fields.append(("sqnr_db", error.sqnrDB.map(JSON.double) ?? .null))
                    fields.append(("max_abs", .double(error.maxAbs)))
                }
                if entry.compression != nil { fields.append(("compression", .string("zstd"))) }
                return .object(fields)
            })),
            ("expert_regions", .int(header.expertRegions.count)),
            ("checksums", .string(checksums.rawValue)),
            ("parity", header.parity),
        ])
    }

    var text: String {
        let header = file.header
        let c = file.config
        var lines = [
            "format:     molt \(header.formatVersion), written by \(header.tool.name) \(header.tool.version) on \(header.provenance.created)",
            "model:      BlackMamba, \(c.layers.count) layers: \(InspectReport.pattern(c.layers.map { if case .moe(let e) = $0 { String(e) } else { "r" } }))",
            "            hidden \(c.hiddenSize), state \(c.stateSize), ffn \(c.ffnHiddenSize), vocab \(c.vocabSize) (\(c.vocabRows) rows)",
            "recipe:     \(Self.withoutCalibration(header.quantization).serialized())",
            "tokenizer:  \(header.tokenizer == nil ? "none" : "embedded")",
        ]
        // Strings from the file are quoted, so none can drive the terminal.
        lines.insert(contentsOf: header.modelMetadata.map { key, value in
            let label = key == .sourceRepository ? "repository:" : key.rawValue + ":"
            return label.padding(toLength: 12, withPad: " ", startingAt: 0) + quoted(value, maxCharacters: 2000)
        }, at: 1)
        lines += Self.calibrationLines(header.quantization)
        lines += Self.typeLines(header.quantization)
        for source in header.provenance.sources {
            lines.append("source:     \(source.name)  \(Formatting.bytes(source.size))  sha256 \(source.sha256)")
        }
        lines.append("")
        let rows = [["tensor", "type", "shape", "bytes", "rel rms", "sqnr dB", "max abs"]]
            + header.tensors.map { entry in
                let error = entry.quantError
                return [
                    entry.name, entry.type.rawValue + (entry.compression == nil ? "" : "+zstd"),
                    "[" + entry.shape.map(String.init).joined(separator: ", ") + "]", Formatting.count(entry.length),
                    error.map { String(format: "%.2e", $0.relRMS) } ?? "",
                    error?.sqnrDB.map { String(format: "%.1f", $0) } ?? "",
                    error.map { String(format: "%.2e", $0.maxAbs) } ?? "",
                ]
            }
        lines.append(TextTable.render(rows, rightAligned: [3, 4, 5, 6]))
        lines.append("")
        let total = header.tensors.reduce(0) { $0 + $1.length }
        lines.append("total:      \(header.tensors.count) tensors, \(Formatting.bytes(total)) of tensor data, "
            + "\(header.expertRegions.count) page-aligned expert regions")
        let count = header.tensors.count + header.blobs.count
        switch checksums {
        case .match: lines.append("checksums:  all \(count) match")
        case .mismatch: lines.append("checksums:  MISMATCH: the file is damaged (below)")
        case .notChecked: lines.append("checksums:  not checked (--no-check)")
        }
        lines.append("")
        lines.append(header.parity == .null ? "parity: not verified" : ParityReport.text(of: header.parity))
        return lines.joined(separator: "\n")
    }

    /// The recipe without its calibration record, tensor types and --target-kl record, which
    /// get lines of their own.
    static func withoutCalibration(_ recipe: JSON) -> JSON {
        guard case .object(let fields) = recipe else { return recipe }
        return .object(fields.filter { !["calibration", "types", "target_kl"].contains($0.0) })
    }

    /// How many tensors are stored as each type, the bits per weight, and what --target-kl
    /// (Formats/calibration.md) widened.
    static func typeLines(_ recipe: JSON) -> [String] {
        var lines: [String] = []
        if case .object(let types) = recipe["types"] ?? .null {
            var counts: [String: Int] = [:]
            for (_, type) in types { counts[Self.string(type), default: 0] += 1 }
            let bits = recipe["bits_per_weight"].flatMap { if case .double(let b) = $0 { String(format: "; %.2f bits per weight", b) } else { nil } }
            lines.append("types:      " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                + " tensors" + (bits ?? ""))
        }
        if let target = recipe["target_kl"], case .object(let promoted) = target["promoted"] ?? .null {
            lines.append("target-kl:  \(target["target"]?.serialized() ?? "?") in \(target["rounds"]?.serialized() ?? "?") round(s), "
                + "\(promoted.count) tensor(s) widened from the recipe")
            for (name, type) in promoted { lines.append("            \(name) -> \(Self.string(type))") }
        }
        return lines
    }

    /// What calibrated the quantizer (Formats/calibration.md) and each expert's routed tokens.
    static func calibrationLines(_ recipe: JSON) -> [String] {
        guard let calibration = recipe["calibration"], case .array(let experts) = calibration["experts"] ?? .null else {
            return []
        }
        let text = calibration["text"] ?? .null
        let what = text["kind"] == .string("file")
            ? "text sha256 \(text["sha256"].map { if case .string(let s) = $0 { s } else { "?" } } ?? "?")"
            : "self-generated text, seed \(text["seed"]?.serialized() ?? "?")"
        var lines = ["calibrated: \(recipe["method"]?.serialized() ?? "?") on \(calibration["tokens"]?.serialized() ?? "?") tokens of \(what)"]
        var byLayer: [(Int, [String])] = []
        for expert in experts {
            guard case .int(let layer) = expert["layer"] ?? .null, case .int(let count) = expert["routed_tokens"] ?? .null else { continue }
            let mark = expert["filled"] == .bool(true) ? "*" : ""
            if byLayer.last?.0 == layer { byLayer[byLayer.count - 1].1.append("\(count)\(mark)") } else { byLayer.append((layer, ["\(count)\(mark)"])) }
        }
        for (layer, counts) in byLayer {
            lines.append("            layer \(layer) routed tokens per expert: \(counts.joined(separator: " "))")
        }
        if experts.contains(where: { $0["filled"] == .bool(true) }) {
            lines.append("            (* below the floor: statistics filled from the layer's reservoir)")
        }
        return lines
    }

    private static func string(_ json: JSON) -> String { if case .string(let s) = json { s } else { json.serialized() } }
}
