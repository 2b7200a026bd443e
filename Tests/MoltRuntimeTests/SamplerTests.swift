import Foundation
import MoltCore
@testable import MoltRuntime
import Testing

private func draws(_ sampler: inout Sampler, _ logits: [Float], _ count: Int) -> [Int: Int] {
    var counts: [Int: Int] = [:]
    logits.withUnsafeBufferPointer { buffer in
        for _ in 0..<count { counts[sampler.sample(buffer), default: 0] += 1 }
    }
    return counts
}

@Test func xoshiroMatchesTheReferenceAlgorithm() {
    // xoshiro256** seeded by SplitMix64(42), computed independently in Python.
    var random = Xoshiro256(seed: 42)
    #expect([random.next(), random.next(), random.next()] == [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1])
}

@Test func greedyTakesTheLowestOfTiedMaxima() {
    var sampler = Sampler.greedy
    #expect(draws(&sampler, [1, 3, 0, 3], 5) == [1: 5])
}

@Test func samplesFollowTheSoftmax() throws {
    // Probabilities 1/4 and 3/4 at temperature 1; at temperature 2 they become 1/(1+sqrt 3) and the rest.
    var sampler = try Sampler(temperature: 1, seed: 1)
    let logits: [Float] = [0, Float(log(3.0))]
    let cold = Double(draws(&sampler, logits, 20000)[0, default: 0]) / 20000
    #expect(abs(cold - 0.25) < 0.015)
    var hot = try Sampler(temperature: 2, seed: 1)
    let warm = Double(draws(&hot, logits, 20000)[0, default: 0]) / 20000
    let expected: Double = 1 / (1 + 3.0.squareRoot())
    #expect(abs(warm - expected) < 0.015)
}

@Test func topKAndTopPKeepOnlyTheLikeliestTokens() throws {
    let logits: [Float] = [0.5, 3, 1, 2.9, -1, 2.95]
    var topK = try Sampler(topK: 2, seed: 5)
    #expect(Set(draws(&topK, logits, 2000).keys) == [1, 5])
    // The three largest hold about 0.92 of the mass: top-p 0.9 keeps exactly them.
    var topP = try Sampler(topP: 0.9, seed: 5)
    #expect(Set(draws(&topP, logits, 2000).keys) == [1, 3, 5])
    var tiny = try Sampler(topP: 0.01, seed: 5)
    #expect(draws(&tiny, logits, 100) == [1: 100])
    var both = try Sampler(topK: 3, topP: 0.5, seed: 5)
    #expect(Set(draws(&both, logits, 2000).keys) == [1, 5])
}

@Test func sameSeedSameDraws() throws {
    let logits: [Float] = (0..<50).map { Float($0 % 7) }
    var a = try Sampler(temperature: 0.8, topK: 10, seed: 99), b = try Sampler(temperature: 0.8, topK: 10, seed: 99)
    let drawsA = (0..<100).map { _ in logits.withUnsafeBufferPointer { a.sample($0) } }
    let drawsB = (0..<100).map { _ in logits.withUnsafeBufferPointer { b.sample($0) } }
    #expect(drawsA == drawsB)
}

@Test func refusesInvalidSettings() {
    for make in [{ try Sampler(temperature: -1) }, { try Sampler(temperature: .nan) }, { try Sampler(topK: -2) },
                 { try Sampler(topP: 0) }, { try Sampler(topP: 1.5) }] {
        let error = #expect(throws: MoltError.self) { _ = try make() }
        #expect(error?.kind == .usage)
    }
}

@Test func minPKeepsTokensNearTheLikeliest() throws {
    // Relative to the top token (logit 3): e^-0.05 = 0.95, e^-0.1 = 0.90, e^-1 = 0.37, e^-2 = 0.14.
    let logits: [Float] = [0.5, 3, 1, 2.9, -1, 2.95, 2]
    var half = try Sampler(minP: 0.5, seed: 5)
    #expect(Set(draws(&half, logits, 2000).keys) == [1, 3, 5])
    var third = try Sampler(minP: 0.3, seed: 5)
    #expect(Set(draws(&third, logits, 2000).keys) == [1, 3, 5, 6])
    var withTopK = try Sampler(topK: 2, minP: 0.3, seed: 5)
    #expect(Set(draws(&withTopK, logits, 2000).keys) == [1, 5])
}

@Test func repetitionPenaltyLowersTokensSeenLately() throws {
    // Greedy: 3 wins by 0.1 until it has been seen; 3 / 1.1 = 2.73 then loses to 2.9.
    let logits: [Float] = [-1, 3, 2.9, -0.5]
    var penalized = try Sampler(temperature: 0, repetitionPenalty: 1.1, repeatLastN: 2)
    penalized.remember([1])
    #expect(draws(&penalized, logits, 1) == [2: 1])
    // Both seen among the last two: 3 / 1.1 = 2.73 beats 2.9 / 1.1 = 2.64 again.
    #expect(draws(&penalized, logits, 1) == [1: 1])
    // A negative logit is multiplied (divided, -0.5 would rise to -0.33 and still win).
    var negative = try Sampler(temperature: 0, repetitionPenalty: 1.5, repeatLastN: 64)
    negative.remember([1])
    #expect(draws(&negative, [-0.6, -0.5], 1) == [0: 1])
    #expect(throws: MoltError.self) { try Sampler(repetitionPenalty: 0) }
    #expect(throws: MoltError.self) { try Sampler(minP: 1.5) }
}
