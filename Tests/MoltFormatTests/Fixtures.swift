import Foundation
import MoltCore
import MoltQuant
import MoltTestSupport
import Testing

@testable import MoltFormat

/// Deterministic values: a sine pattern with some spread, so quantization is not trivial.
func values(_ count: Int, seed: Int = 1) -> [Float] {
    (0..<count).map { i in 0.05 * sin(Float(i &* 7 &+ seed * 13) * 0.37) + 0.01 * cos(Float(i) * 1.3 + Float(seed)) }
}

func tensor(_ values: [Float], _ shape: [Int], as dtype: DType = .f32) throws -> Tensor {
    let f32 = try Tensor(storage: values.withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: shape)
    return try f32.converted(to: dtype)
}

let tinyConfig = BlackMambaConfig(
    hiddenSize: 64, stateSize: 4, convDimension: 4, expansionFactor: 2, ffnHiddenSize: 48, vocabSize: 100,
    layers: [.mamba, .moe(experts: 2)], addBiasLinear: true, swiglu: true, maxSequenceLength: 128, vocabRows: 128)

func headerInfo(tokenizer: String? = nil) -> MoltHeaderInfo {
    MoltHeaderInfo(
        tool: .init(name: "molt-tests", version: "0"), model: tinyConfig,
        quantization: .object([("experts", .string("q4")), ("group_size", .int(32))]),
        provenance: .init(created: "2025-01-01T00:00:00Z", sources: [.init(path: "/x/model.bin", name: "model.bin", sha256: String(repeating: "ab", count: 32), size: 123)]),
        tokenizer: tokenizer, metadata: ["note": .string("test")])
}

/// A small model-shaped file: embedding, a norm, one MoE layer's router and two experts
/// (q4, with biases), a compressed f32 tensor and a tokenizer blob.
@discardableResult
func writeSample(_ path: String, compressSome: Bool = true) throws -> MoltHeader {
    let sink = try FileDescriptorSink(creating: path)
    let writer = try MoltWriter(sink: sink)
    try writer.append(TensorNames.embedding, tensor(values(128 * 64), [128, 64]), as: .f32)
    try writer.append(TensorNames.norm(0), tensor(values(64, seed: 2), [64]), as: .f32, compress: compressSome)
    try writer.append(TensorNames.router(1, "weight"), tensor(values(2 * 64, seed: 3), [2, 64]), as: .f32)
    for e in 0..<2 {
        try writer.append(TensorNames.expert(1, e, "linear_fc1.weight"), tensor(values(96 * 64, seed: 10 + e), [96, 64]), as: .q4)
        try writer.append(TensorNames.expert(1, e, "linear_fc1.bias"), tensor(values(96, seed: 20 + e), [96]), as: .f32)
        try writer.append(TensorNames.expert(1, e, "linear_fc2.weight"), tensor(values(64 * 48, seed: 30 + e), [64, 48]), as: .q8)
        try writer.append(TensorNames.expert(1, e, "linear_fc2.bias"), tensor(values(64, seed: 40 + e), [64]), as: .f32)
    }
    let tokenizer = Array(#"{"model": {"type": "BPE"}, "note": "not a real tokenizer"}"#.utf8)
    _ = try tokenizer.withUnsafeBytes { try writer.appendBlob("tokenizer.json", $0, compress: compressSome) }
    try writer.append(TensorNames.finalNormWeight, tensor(values(64, seed: 5), [64]), as: .bf16)
    return try writer.finish(headerInfo(tokenizer: "tokenizer.json"))
}

func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

func writeBytes(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The message of the MoltError that opening `path` throws; fails the test if it opens.
func openError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> MoltError? {
    do {
        _ = try MoltFile(path: path)
        Issue.record("opened a corrupt file", sourceLocation: sourceLocation)
        return nil
    } catch let error as MoltError {
        return error
    } catch {
        Issue.record("not a MoltError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Rewrites a finished file's header JSON (as a dictionary) and writes a footer that matches
/// it, so only the edited fields are wrong.
func editHeader(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
    let bytes = try readBytes(path)
    let footer = try bytes.suffix(64).withUnsafeBytes { try Footer.decode($0, file: path, at: bytes.count - 64) }
    let json = Data(bytes[footer.headerOffset..<footer.headerOffset + footer.headerLength])
    var object = try JSONSerialization.jsonObject(with: json) as! [String: Any]
    edit(&object)
    let newJSON = Array(try JSONSerialization.data(withJSONObject: object))
    var newFooter = footer
    newFooter.headerLength = newJSON.count
    newFooter.headerCRC = newJSON.withUnsafeBytes { CRC32.of($0) }
    try writeBytes(Array(bytes[0..<footer.headerOffset]) + newJSON + newFooter.encoded(), path)
}

/// Edits the first tensor entry named `name` in a header dictionary.
func editTensor(_ object: inout [String: Any], _ name: String, _ edit: (inout [String: Any]) -> Void) {
    var tensors = object["tensors"] as! [[String: Any]]
    let i = tensors.firstIndex { $0["name"] as? String == name }!
    edit(&tensors[i])
    object["tensors"] = tensors
}
