import Foundation
import MoltCore
import Testing

private let published = """
{"num_layers": 4, "hidden_size": 32, "state_size": 8, "conv_dimension": 4, "vocab_size": 256,
 "expansion_factor": 2, "mamba_moe_layers": ["r", "8", "r", "8"], "ffn_hidden_size": 64,
 "add_bias_linear": false, "swiglu": true, "max_sequence_length": 128, "rotary_percent": 1.0}
"""

@Test func parsesPublishedFieldsAndIgnoresUnknownOnes() throws {
    let config = try BlackMambaConfig.parse(json: Data(published.utf8), file: "config.json")
    #expect(config.layers == [.mamba, .moe(experts: 8), .mamba, .moe(experts: 8)])
    #expect(config.innerSize == 64)
    #expect(config.dtRank == 2)
    #expect(config.swiglu && !config.addBiasLinear)
    #expect(config.expectedTensors.count == 1 + 2 * 10 + 2 * (1 + 2 + 16) + 2)
}

@Test func refusesConfigsThatAreNotBlackMamba() {
    let cases: [(String, String)] = [
        (#"{"hidden_size": 4}"#, "mamba_moe_layers"),
        (published.replacingOccurrences(of: #""num_layers": 4"#, with: #""num_layers": 3"#), "num_layers is 3"),
        (published.replacingOccurrences(of: #""8", "r", "8""#, with: #""8", "x", "8""#), "mamba_moe_layers[2]"),
        (published.replacingOccurrences(of: #""hidden_size": 32"#, with: #""hidden_size": 3.5"#), "hidden_size"),
        (published.replacingOccurrences(of: #""state_size": 8"#, with: #""state_size": 0"#), "state_size"),
        ("[1, 2]", "config.json"),
    ]
    for (json, fragment) in cases {
        do {
            _ = try BlackMambaConfig.parse(json: Data(json.utf8), file: "config.json")
            Issue.record("accepted \(json)")
        } catch let error as MoltError {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.hasPrefix("config.json: "))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

@Test func shapeProblemsNameEveryTensor() throws {
    let config = try BlackMambaConfig.parse(json: Data(published.utf8), file: "config.json")
    var shapes = Dictionary(uniqueKeysWithValues: config.expectedTensors.map { ($0.name, $0.shape) })
    #expect(config.shapeProblems(shapes).isEmpty)
    shapes.removeValue(forKey: "decoder.layers.1.mixer.local_experts.7.linear_fc2.weight")
    shapes["decoder.layers.0.mixer.D"] = [3]
    shapes["extra.weight"] = [1]
    let problems = config.shapeProblems(shapes)
    #expect(problems == [
        "tensor decoder.layers.0.mixer.D has shape [3], expected [64]",
        "missing tensor decoder.layers.1.mixer.local_experts.7.linear_fc2.weight [32, 64]",
        "unexpected tensor extra.weight [1]",
    ])
}

/// Issue 13: config.json goes through the strict parser (JSONSerialization kept the last of
/// two keys), and config.json and the .molt header share one validating initialiser.
@Test func duplicateKeysInConfigAreRefusedWithTheirOffset() {
    let json = #"{"hidden_size": 32, "hidden_size": 64}"#
    let error = #expect(throws: MoltError.self) { try BlackMambaConfig.parse(json: Data(json.utf8), file: "config.json") }
    #expect(error?.message == "config.json: byte 20: key 'hidden_size' appears twice")
    let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    let depthError = #expect(throws: MoltError.self) { try BlackMambaConfig.parse(json: Data(deep.utf8), file: "config.json") }
    #expect(depthError?.message == "config.json: byte 64: invalid JSON: nested deeper than 64 levels")
}

@Test func bothSpellingsReadBackThroughTheOneInitialiser() throws {
    let config = try BlackMambaConfig.parse(json: Data(published.utf8), file: "config.json")
    #expect(try BlackMambaConfig(json: config.headerJSON, spelling: .moltHeader, file: nil) == config)
    #expect(try BlackMambaConfig(json: config.json, spelling: .configJSON, file: nil) == config)
    // The header spelling needs what config.json leaves to the weights.
    guard case .object(let fields) = config.headerJSON else { return }
    let noRank = JSON.object(fields.filter { $0.0 != "dt_rank" })
    let error = #expect(throws: MoltError.self) { try BlackMambaConfig(json: noRank, spelling: .moltHeader, file: "m.molt") }
    #expect(error?.message == "m.molt: missing field 'model.dt_rank'")
    let wrongType = JSON.object(fields.map { $0.0 == "swiglu" ? ($0.0, .string("yes")) : $0 })
    let typeError = #expect(throws: MoltError.self) { try BlackMambaConfig(json: wrongType, spelling: .moltHeader, file: "m.molt") }
    #expect(typeError?.message == "m.molt: field 'model.swiglu' is a string, not a boolean")
}
