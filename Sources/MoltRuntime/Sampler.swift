#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoltCore

/// Chooses the next token from logits. Temperature 0 is greedy (the lowest id wins ties);
/// otherwise a token is drawn from softmax(logits / temperature), restricted first to the
/// `topK` most likely tokens (0: no limit) and then to the fewest most likely tokens whose
/// probability reaches `topP` (1: no limit), then to those at least `minP` times as likely as
/// the most likely one (0: no limit). Before any of this, a repetition penalty above 1 makes
/// the tokens among the last `repeatLastN` seen (prompt and output) less likely, as in Hugging
/// Face's and llama.cpp's samplers: a positive logit is divided by it, a negative one
/// multiplied. Draws come from a seeded xoshiro256**, so the same seed and logits give the
/// same tokens on every machine.
public struct Sampler: Sendable {
    public let temperature: Float
    public let topK: Int
    public let topP: Float
    public let minP: Float
    public let repetitionPenalty: Float
    public let repeatLastN: Int
    private var random: Xoshiro256
    /// Reused across draws: exp((logit - max) / temperature) per token, candidate ids, and
    /// the penalized logits.
    private var weights: [Double] = []
    private var candidates: [Int] = []
    private var penalized: [Float] = []
    /// The last `repeatLastN` tokens seen, oldest first.
    private var recent: [Int] = []

    public init(
        temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0, repetitionPenalty: Float = 1,
        repeatLastN: Int = 64, seed: UInt64 = 0
    ) throws {
        guard temperature.isFinite, temperature >= 0 else {
            throw MoltError(.usage, "temperature must be a number >= 0, not \(temperature)")
        }
        guard topK >= 0 else { throw MoltError(.usage, "top-k must be >= 0 (0 keeps every token), not \(topK)") }
        guard topP > 0, topP <= 1 else { throw MoltError(.usage, "top-p must be in (0, 1], not \(topP)") }
        guard minP >= 0, minP <= 1 else { throw MoltError(.usage, "min-p must be in [0, 1], not \(minP)") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw MoltError(.usage, "repeat-penalty must be a number > 0 (1 is off), not \(repetitionPenalty)")
        }
        guard repeatLastN >= 0 else { throw MoltError(.usage, "repeat-last-n must be >= 0, not \(repeatLastN)") }
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repeatLastN = repeatLastN
        random = Xoshiro256(seed: seed)
    }

    /// Always the most likely token.
    public static var greedy: Sampler { try! Sampler(temperature: 0) }

    /// Records tokens the model was given (a prompt), for the repetition penalty.
    public mutating func remember(_ tokens: [Int]) {
        guard repetitionPenalty != 1, repeatLastN > 0 else { return }
        recent += tokens.suffix(repeatLastN)
        if recent.count > repeatLastN { recent.removeFirst(recent.count - repeatLastN) }
    }

    /// The chosen token id, an index into `logits`, remembered for the repetition penalty. An
    /// empty buffer gives 0.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        guard repetitionPenalty != 1, !recent.isEmpty else { return choose(logits) }
        penalized.removeAll(keepingCapacity: true)
        penalized.append(contentsOf: logits)
        for id in Set(recent) where id < penalized.count {
            let logit = penalized[id]
            penalized[id] = logit > 0 ? logit / repetitionPenalty : logit * repetitionPenalty
        }
        let id = penalized.withUnsafeBufferPointer { choose($0) }
        remember([id])
        return id
    }

    private mutating func choose(_ logits: UnsafeBufferPointer<Float>) -> Int {
        guard let base = logits.baseAddress, logits.count > 1, temperature > 0, topK != 1 else {
            return logits.baseAddress.map { argmax($0, count: logits.count) } ?? 0
        }
        let n = logits.count
        let top = Double(logits[argmax(base, count: n)])
        weights.removeAll(keepingCapacity: true)
        var total = 0.0
        for value in logits {
            let w = exp((Double(value) - top) / Double(temperature))
            weights.append(w)
            total += w
        }
        let limitK = topK > 0 && topK < n
        if !limitK && topP >= 1 && minP == 0 { return draw(from: 0..<n, mass: total) }

        if limitK {
            keepTopK()
        } else {
            // A token below (1 - p) / (n - 1) of the mass cannot be in the nucleus: all such
            // tokens together hold less than 1 - p. Dropping them first makes the sort short.
            let floor = topP < 1 ? total * Double(1 - topP) / Double(n - 1) : 0
            candidates = (0..<n).filter { weights[$0] >= floor }
            candidates.sort { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        }
        // The most likely token's weight is exp(0) = 1, so min-p compares weights with minP.
        if minP > 0 { candidates.removeAll { weights[$0] < Double(minP) } }
        guard !candidates.isEmpty else { return argmax(base, count: n) }

        // The nucleus is measured within what top-k kept, as in Hugging Face's samplers.
        let kept = candidates.reduce(0.0) { $0 + weights[$1] }
        var mass = 0.0, count = 0
        for id in candidates {
            mass += weights[id]
            count += 1
            if mass >= Double(topP) * kept { break }
        }
        return draw(from: candidates[0..<count], mass: mass)
    }

    /// Sets `candidates` to the `topK` heaviest ids, heaviest first (the lower id first on ties).
    private mutating func keepTopK() {
        candidates.removeAll(keepingCapacity: true)
        for id in weights.indices {
            let w = weights[id]
            if candidates.count == topK, !(w > weights[candidates[topK - 1]]) { continue }
            var at = candidates.count
            while at > 0, weights[candidates[at - 1]] < w { at -= 1 }
            candidates.insert(id, at: at)
            if candidates.count > topK { candidates.removeLast() }
        }
    }

    /// Draws one of `ids` with probability weights[id] / mass.
    private mutating func draw<C: Collection>(from ids: C, mass: Double) -> Int where C.Element == Int {
        var left = random.nextUnit() * mass
        for id in ids {
            left -= weights[id]
            if left < 0 { return id }
        }
        // Rounding can leave a sliver of mass: it belongs to the last id.
        return ids.reversed().first ?? 0
    }
}

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64 as its authors recommend.
struct Xoshiro256: Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s = (seeder.next(), seeder.next(), seeder.next(), seeder.next())
    }

    mutating func next() -> UInt64 {
        let result = rotate(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotate(s.3, 45)
        return result
    }

    /// Uniform in [0, 1), from the top 53 bits.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
