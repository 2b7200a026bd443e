import MoltCore
import MoltQuant
import XCTest

@testable import MoltCalibration

/// --target-kl's promotion rule (Formats/calibration.md, "A quality target instead of a recipe").
final class PromotionTests: XCTestCase {
    func testSensitivityIsTheImportanceWeightedRelativeErrorTimesTheTokenShare() throws {
        // [2, 3] weights, their stored values, and statistics of 40 of 100 calibration tokens.
        let w: [Float] = [1, -2, 0.5, 3, 0.25, -1], q: [Float] = [1.25, -2, 0.5, 2.5, 0.5, -1]
        let sumSq = [4.0, 0.0, 2.0]
        let s = try InputStatistics(columns: 3, tokens: 40, sumSquares: sumSq)
        // Float64 reference, written out: importance s_j + 0.01 * mean(sum_sq).
        let floor = 0.01 * 2.0
        let imp = sumSq.map { $0 + floor }
        var error = 0.0, signal = 0.0
        for r in 0..<2 {
            for j in 0..<3 {
                error += pow(Double(q[r * 3 + j] - w[r * 3 + j]), 2) * imp[j]
                signal += pow(Double(w[r * 3 + j]), 2) * imp[j]
            }
        }
        let got = try w.withUnsafeBufferPointer { a in
            try q.withUnsafeBufferPointer { b in try Promotion.sensitivity(source: a, stored: b, statistics: s, calibrationTokens: 100) }
        }
        XCTAssertEqual(got, 0.4 * error / signal, accuracy: 1e-9)
        // Exact values cost nothing.
        let exact = try w.withUnsafeBufferPointer { a in
            try Promotion.sensitivity(source: a, stored: a, statistics: s, calibrationTokens: 100)
        }
        XCTAssertEqual(exact, 0)
    }

    func testTheLadderEndsAtTheSourcesSixteenBitType() {
        func next(_ type: MoltTensorType, _ source: DType) -> MoltTensorType? {
            Promotion.Candidate(name: "w", parameters: 1, source: source, type: type, sensitivity: 1).next
        }
        XCTAssertEqual(next(.q4, .f32), .q8)
        XCTAssertEqual(next(.q8, .f32), .f16)
        XCTAssertEqual(next(.q8, .bf16), .bf16)
        XCTAssertEqual(next(.q8, .f16), .f16)
        XCTAssertNil(next(.f16, .f32))
        XCTAssertNil(next(.bf16, .bf16))
    }

    func testThePlanWidensTheMostErrorPerBitFirstUntilTheGoal() {
        let candidates = [
            // Same error, four times the parameters: a quarter of the gain per bit.
            Promotion.Candidate(name: "big", parameters: 4000, source: .f32, type: .q4, sensitivity: 1.0),
            Promotion.Candidate(name: "small", parameters: 1000, source: .f32, type: .q4, sensitivity: 1.0),
            Promotion.Candidate(name: "quiet", parameters: 1000, source: .f32, type: .q4, sensitivity: 0.01),
            Promotion.Candidate(name: "done", parameters: 1000, source: .f32, type: .f16, sensitivity: 0),
        ]
        // Total 2.01; a goal of 1.5 needs one promotion: `small` to q8.
        XCTAssertEqual(Promotion.plan(candidates, goal: 1.5, groupSize: 32), ["small": .q8])
        // 0.5 needs one more: per added bit and parameter, big's first rung gains 7.0e-5, quiet's
        // 2.8e-6 and small's second rung 1.9e-6.
        XCTAssertEqual(Promotion.plan(candidates, goal: 0.5, groupSize: 32), ["small": .q8, "big": .q8])
        // A goal of zero widens everything to its last rung; nothing left gives no plan.
        let all = Promotion.plan(candidates, goal: 0, groupSize: 32)
        XCTAssertEqual(all, ["small": .f16, "big": .f16, "quiet": .f16])
        let widened = candidates.map { c in
            Promotion.Candidate(name: c.name, parameters: c.parameters, source: c.source, type: all[c.name] ?? c.type, sensitivity: 0)
        }
        XCTAssertEqual(Promotion.plan(widened, goal: 0, groupSize: 32), [:])
    }

    func testTheGoalScalesTheEstimateToTheTargetWithAMarginAndAtLeastHalvesIt() {
        // KL 4e-3 at estimate 2 for a target of 1e-3: 0.8 * 2 / 4.
        XCTAssertEqual(Promotion.goal(estimate: 2, meanKL: 4e-3, target: 1e-3), 0.4, accuracy: 1e-12)
        // Nearly met: still at least halved.
        XCTAssertEqual(Promotion.goal(estimate: 2, meanKL: 1.1e-3, target: 1e-3), 1)
        // Met (top-1 or routing failed instead): halved.
        XCTAssertEqual(Promotion.goal(estimate: 2, meanKL: 5e-4, target: 1e-3), 1)
        XCTAssertEqual(Promotion.bits(.q4, groupSize: 32), 5)
        XCTAssertEqual(Promotion.bits(.q8, groupSize: 64), 8.25)
    }
}

extension PromotionTests {
    func testTheEmbeddingsLookupCountsEveryRowUnweighted() {
        let w: [Float] = [1, -2, 2, 0], q: [Float] = [1, -1.5, 2.5, 0]
        // (0.25 + 0.25) / (1 + 4 + 4).
        let got = w.withUnsafeBufferPointer { a in q.withUnsafeBufferPointer { b in Promotion.lookupSensitivity(source: a, stored: b) } }
        XCTAssertEqual(got, 0.5 / 9, accuracy: 1e-12)
    }
}
