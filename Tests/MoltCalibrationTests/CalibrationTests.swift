import Foundation
import MoltCheckpoint
import MoltCore
import MoltQuant
import MoltRuntime
import MoltTestSupport
import XCTest

@testable import MoltCalibration

/// Statistics collection (Formats/calibration.md) on the trained fixture.
final class CalibrationTests: XCTestCase {
    static let trained = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/trained").path
    let source = CalibrationStatistics.Source(files: [.init(name: "model.safetensors", sha256: String(repeating: "a", count: 64), size: 1)])

    private func model() throws -> (BlackMambaConfig, [String: Tensor]) {
        let checkpoint = try Checkpoint.open(Self.trained)
        return (try checkpoint.requireModel(), checkpoint.tensors.byName)
    }

    /// Expert 3 of layer 1 never chosen: its router bias far below the others'.
    private func starving(_ tensors: [String: Tensor]) throws -> [String: Tensor] {
        var tensors = tensors
        let name = TensorNames.router(1, "bias")
        var bias = try tensors[name]!.floatValues()
        bias[3] = -1e4
        tensors[name] = try Tensor(storage: bias.withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: [bias.count])
        return tensors
    }

    func testSumsOfSquaresAreThoseOfTheInputsTheRouterSent() throws {
        let (config, tensors) = try model()
        var random = SplitMix64(seed: 4)
        let tokens = random.tokens(530, below: config.vocabSize)
        let s = try Calibration.measure(config: config, tensors: tensors, source: source, tokens: tokens, text: .object([("kind", .string("test"))]), gram: true)
        XCTAssertEqual(s.tokens, 530)
        XCTAssertEqual(s.sequences, 2)
        // Every token reaches each Mamba projection and the output matrix once...
        XCTAssertEqual(s.statistics(of: TensorNames.mamba(0, "in_proj.weight"))?.tokens, 530)
        XCTAssertEqual(s.statistics(of: TensorNames.embedding)?.tokens, 530)
        // ... and exactly one expert per MoE layer.
        for layer in [1, 3, 5, 7] {
            let counts = s.experts.filter { $0.layer == layer }
            XCTAssertEqual(counts.map(\.routedTokens).reduce(0, +), 530)
            for c in counts where !c.filled {
                XCTAssertEqual(s.statistics(of: TensorNames.expert(layer, c.expert, "linear_fc1.weight"))?.tokens, c.routedTokens)
            }
        }
        // The Gram's diagonal is the sum of squares; it is symmetric. x_proj (512 columns) saw
        // fewer than 4 · 512 tokens, so its f16 rows were kept (their rounding: the looser
        // tolerance); dt_proj (16 columns) saw more, so its Gram was summed.
        let x = s.statistics(of: TensorNames.mamba(2, "x_proj.weight"))!, dt = s.statistics(of: TensorNames.mamba(2, "dt_proj.weight"))!
        guard case .rows = x.secondMoment, case .gram = dt.secondMoment else {
            return XCTFail("x_proj keeps \(String(describing: x.secondMoment).prefix(5)), dt_proj \(String(describing: dt.secondMoment).prefix(5))")
        }
        for (statistics, tolerance) in [(x, 1e-3), (dt, 1e-4)] {
            let n = statistics.columns, gram = statistics.gram!
            for i in stride(from: 0, to: n, by: 37 % n) {
                XCTAssertEqual(gram[i * n + i], statistics.sumSquares[i], accuracy: tolerance * statistics.sumSquares[i])
                XCTAssertEqual(gram[i * n + (n - 1 - i)], gram[(n - 1 - i) * n + i])
            }
        }
    }

    /// The floor rule: an expert with no routed tokens gets the reservoir, which for a short
    /// calibration is every row of the layer, so its fc1 statistics are the layer's own: the
    /// sum of what the router sent every expert.
    func testAnExpertWithZeroRoutedTokensGetsTheLayersReservoir() throws {
        let (config, original) = try model()
        let tensors = try starving(original)
        var random = SplitMix64(seed: 6)
        let tokens = random.tokens(200, below: config.vocabSize)
        let s = try Calibration.measure(config: config, tensors: tensors, source: source, tokens: tokens, text: .object([("kind", .string("test"))]), gram: false)
        XCTAssertEqual(s.reservoirStride, 1)
        let starved = s.experts.first { $0.layer == 1 && $0.expert == 3 }!
        XCTAssertEqual(starved.routedTokens, 0)
        XCTAssertTrue(starved.filled)
        let layer = s.statistics(of: TensorNames.expert(1, 3, "linear_fc1.weight"))!
        XCTAssertEqual(layer.tokens, 200)
        XCTAssertEqual(s.statistics(of: TensorNames.expert(1, 3, "linear_fc2.weight"))?.tokens, 200)
        XCTAssertGreaterThan(s.statistics(of: TensorNames.expert(1, 3, "linear_fc2.weight"))!.sumSquares.reduce(0, +), 0)
        // 200 tokens over 7 experts: every one is under the floor of 64 and filled, so each holds
        // its routed rows plus the layer's; the routed parts add up to the layer's again.
        var routed = [Double](repeating: 0, count: layer.columns)
        for e in 0..<8 {
            let count = s.experts.first { $0.layer == 1 && $0.expert == e }!
            XCTAssertTrue(count.filled)
            let stats = s.statistics(of: TensorNames.expert(1, e, "linear_fc1.weight"))!
            XCTAssertEqual(stats.tokens, count.routedTokens + 200)
            for j in 0..<layer.columns { routed[j] += stats.sumSquares[j] - layer.sumSquares[j] }
        }
        for j in 0..<layer.columns { XCTAssertEqual(routed[j], layer.sumSquares[j], accuracy: 1e-6 * layer.sumSquares[j] + 1e-9) }
    }

    func testObservingChangesNoLogit() throws {
        let (config, tensors) = try model()
        final class Counter: ForwardObserver {
            var calls = 0
            func multiplying(_ weight: String, rows: UnsafePointer<Float>, count: Int, stride: Int, columns: Int) { calls += 1 }
        }
        let counter = Counter()
        let tokens = Array(1...40)
        let model = try BlackMambaModel(config: config, tensors: tensors), state = model.makeState()
        state.observer = counter
        let plain = try model.prefill(tokens).logits
        let observed = try model.prefill(tokens, state: state)
        XCTAssertEqual(plain, observed)
        XCTAssertGreaterThan(counter.calls, 0)
    }

    func testSelfGeneratedTextIsSeededAndRecorded() throws {
        let (config, tensors) = try model()
        let s = try Calibration.selfGenerated(config: config, tensors: tensors, source: source, starts: 2, length: 12, gram: false)
        XCTAssertEqual(s.tokens, 24)
        XCTAssertEqual(s.text["kind"], .string("self-generated"))
        XCTAssertEqual(s.experts.count, 32)
        // Seeded: the same statistics twice.
        let again = try Calibration.selfGenerated(config: config, tensors: tensors, source: source, starts: 2, length: 12, gram: false)
        XCTAssertEqual(again.experts, s.experts)
        XCTAssertEqual(again.statistics(of: TensorNames.embedding), s.statistics(of: TensorNames.embedding))
    }

    /// Statistics with second moments over 20 random tokens.
    private func measuredWithGram(seed: UInt64) throws -> CalibrationStatistics {
        let (config, tensors) = try model()
        var random = SplitMix64(seed: seed)
        return try Calibration.measure(config: config, tensors: tensors, source: source, tokens: random.tokens(20, below: 4096),
                                       text: .object([("kind", .string("file")), ("sha256", .string("b")), ("bytes", .int(3))]), gram: true)
    }

    func testTheFileRoundTripsAndIsValidated() throws {
        let s = try measuredWithGram(seed: 1)
        let data = try StatisticsFile.encode(s)
        let back = try StatisticsFile.decode(data, file: "s.moltcal")
        XCTAssertEqual(back.tensors.map(\.name), s.tensors.map(\.name))
        XCTAssertEqual(back.tensors.map(\.statistics), s.tensors.map(\.statistics))
        // 20 tokens: every weight keeps its rows, and the file holds them as they are.
        XCTAssertEqual(back.tensors.map(\.statistics.secondMoment), s.tensors.map(\.statistics.secondMoment))
        XCTAssertTrue(back.tensors.allSatisfy { if case .rows = $0.statistics.secondMoment { true } else { false } })
        XCTAssertEqual(back.experts, s.experts)
        XCTAssertEqual(back.source, s.source)
        // A flipped data byte fails the crc; a short file, the layout.
        var damaged = data
        damaged[damaged.count - 3] ^= 1
        XCTAssertThrowsError(try StatisticsFile.decode(damaged, file: "s.moltcal")) { error in
            XCTAssertTrue("\(error)".contains("s.moltcal") && "\(error)".contains("crc32"), "\(error)")
        }
        XCTAssertThrowsError(try StatisticsFile.decode(data.prefix(40), file: "s.moltcal"))
        XCTAssertThrowsError(try StatisticsFile.decode(Data("MOLTCAX\n".utf8) + data.dropFirst(8), file: "s.moltcal"))
        var future = data
        future[8] = 3
        XCTAssertThrowsError(try StatisticsFile.decode(future, file: "s.moltcal")) { error in
            XCTAssertTrue("\(error)".contains("version 3; this reader reads 1 to 2"), "\(error)")
        }
    }

    /// Version 1 held f64 arrays only; such a file (a version 2 file of Gram matrices with the
    /// old number) still reads, and kept rows in one are refused.
    func testVersionOneFilesAreRead() throws {
        var s = try measuredWithGram(seed: 2)
        let withRows = try StatisticsFile.encode(s)
        s.tensors = try s.tensors.map { name, t in
            (name, try InputStatistics(columns: t.columns, tokens: t.tokens, sumSquares: t.sumSquares, gram: t.gram))
        }
        var v1 = try StatisticsFile.encode(s)
        v1[8] = 1
        let back = try StatisticsFile.decode(v1, file: "v1.moltcal")
        XCTAssertEqual(back.tensors.map(\.statistics.secondMoment), s.tensors.map(\.statistics.secondMoment))
        XCTAssertEqual(back.tensors.map(\.statistics.gram), try StatisticsFile.decode(withRows, file: "v2.moltcal").tensors.map(\.statistics.gram))
        var old = withRows
        old[8] = 1
        XCTAssertThrowsError(try StatisticsFile.decode(old, file: "v1.moltcal")) { error in
            XCTAssertTrue("\(error)".contains("kept rows in a version 1 file"), "\(error)")
        }
    }

    /// `file` with its JSON header edited by `edit` and its data section by `change`, the data's
    /// crc32 recorded anew: what a damaged writer (not a damaged disk) would leave.
    private func rewritten(_ file: Data, header edit: (String) -> String, data change: (inout Data) -> Void = { _ in }) -> Data {
        let length = (12..<16).reduce(0) { $0 | Int(file[$1]) << (8 * ($1 - 12)) }
        var body = Data(file[((16 + length + 7) / 8 * 8)...])
        change(&body)
        let crc = body.withUnsafeBytes { CRC32.of($0) }
        let json = edit(String(decoding: file[16..<16 + length], as: UTF8.self))
            .replacingOccurrences(of: #""data_crc32":[0-9]+"#, with: "\"data_crc32\":\(crc)", options: .regularExpression)
        var out = Data(file.prefix(12))
        withUnsafeBytes(of: UInt32(json.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(Data(json.utf8))
        out.append(Data(count: (8 - out.count % 8) % 8))
        return out + body
    }

    private func refusal(_ data: Data) -> String {
        do {
            _ = try StatisticsFile.decode(data, file: "s.moltcal")
            return "accepted"
        } catch { return (error as? MoltError)?.message ?? "\(error)" }
    }

    /// Each layout check of version 2 refuses its case with its own message.
    func testBadLayoutsAreRefusedWithTheirMessages() throws {
        var s = try measuredWithGram(seed: 3)
        let name = s.tensors[0].name
        // Three f16 values: 6 bytes and 2 of padding in their slot.
        s.tensors = [(name, try InputStatistics(columns: 3, tokens: 1, sumSquares: [1, 2, 3], secondMoment: .rows([1, 2, 3])))]
        let file = try StatisticsFile.encode(s)
        XCTAssertEqual(refusal(rewritten(file, header: { $0 })), "accepted")
        XCTAssertEqual(
            refusal(rewritten(file, header: { $0 }, data: { $0[$0.count - 1] = 1 })),
            "s.moltcal: byte \(file.count - 2): tensor \(name): nonzero padding after rows")
        XCTAssertEqual(
            refusal(rewritten(file, header: { $0.replacingOccurrences(of: #""gram":null,"rows""#, with: #""gram":{"offset":3,"count":9},"rows""#) })),
            "s.moltcal: tensor \(name) has both a Gram matrix and kept rows")
        XCTAssertEqual(
            refusal(rewritten(file, header: { $0.replacingOccurrences(of: #""columns":3,"tokens":1"#, with: #""columns":3,"tokens":9"#) })),
            "s.moltcal: tensor \(name): 9 tokens of kept rows exceed the data section")
        XCTAssertEqual(
            refusal(rewritten(file, header: { $0 }, data: { $0.append(Data(count: 8)) })),
            "s.moltcal: byte \(file.count): 1 slots past the last array")
        XCTAssertEqual(
            refusal(rewritten(file, header: { $0.replacingOccurrences(of: #""rows":{"offset":3,"count":3}"#, with: #""rows":{"offset":4,"count":3}"#) })),
            "s.moltcal: tensor \(name): rows at slot 4 with 3 values; expected 3 values at slot 3")
    }

    func testStatisticsOfAnotherSourceAreRefusedNamingBothHashes() throws {
        let (config, tensors) = try model()
        let s = try Calibration.measure(config: config, tensors: tensors, source: source, tokens: [1, 2, 3], text: .object([("kind", .string("test"))]), gram: false)
        let other = CalibrationStatistics.Source(files: [.init(name: "model.safetensors", sha256: String(repeating: "b", count: 64), size: 1)])
        XCTAssertThrowsError(try s.check(against: other, file: "s.moltcal", quantized: [:], needsGram: false)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(String(repeating: "a", count: 64)) && message.contains(String(repeating: "b", count: 64)), message)
        }
        XCTAssertNoThrow(try s.check(against: source, file: "s.moltcal", quantized: [TensorNames.embedding: 256], needsGram: false))
        XCTAssertThrowsError(try s.check(against: source, file: "s.moltcal", quantized: [TensorNames.embedding: 256], needsGram: true))
        XCTAssertThrowsError(try s.check(against: source, file: "s.moltcal", quantized: [TensorNames.embedding: 255], needsGram: false))
    }
}
