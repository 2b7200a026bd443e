import Foundation

/// Agreement between two models' logits over a run of positions, accumulated so sums over
/// sequences give exact overall figures.
struct LogitMetrics {
    var positions = 0
    var sourceEnergy = 0.0
    var differenceEnergy = 0.0
    var maxAbs = 0.0
    var klSum = 0.0
    var klMax = 0.0
    var top1 = 0
    var top5Overlap = 0
    /// Negative log-likelihood of the next token, when the tokens are text.
    var sourceNLL = 0.0
    var convertedNLL = 0.0
    var scoredTokens = 0
    var bitIdentical = true

    /// Adds `positions` rows of `vocab` logits; `next[i]` is the token that follows row i, if known.
    mutating func add(source: [Float], converted: [Float], vocab: Int, next: [Int?]) {
        let rows = source.count / vocab
        bitIdentical = bitIdentical && source == converted
        for r in 0..<rows {
            let s = source[r * vocab..<(r + 1) * vocab], c = converted[r * vocab..<(r + 1) * vocab]
            for (a, b) in zip(s, c) {
                let d = Double(a) - Double(b)
                sourceEnergy += Double(a) * Double(a)
                differenceEnergy += d * d
                maxAbs = max(maxAbs, abs(d))
            }
            let logP = logSoftmax(s), logQ = logSoftmax(c)
            var kl = 0.0
            for (lp, lq) in zip(logP, logQ) where lp > -80 { kl += exp(lp) * (lp - lq) }
            klSum += kl
            klMax = max(klMax, kl)
            let topS = top(5, logP), topC = top(5, logQ)
            if topS[0] == topC[0] { top1 += 1 }
            top5Overlap += Set(topS).intersection(topC).count
            if r < next.count, let target = next[r] {
                sourceNLL -= logP[target]
                convertedNLL -= logQ[target]
                scoredTokens += 1
            }
        }
        positions += rows
    }

    mutating func merge(_ other: LogitMetrics) {
        positions += other.positions
        sourceEnergy += other.sourceEnergy
        differenceEnergy += other.differenceEnergy
        maxAbs = max(maxAbs, other.maxAbs)
        klSum += other.klSum
        klMax = max(klMax, other.klMax)
        top1 += other.top1
        top5Overlap += other.top5Overlap
        sourceNLL += other.sourceNLL
        convertedNLL += other.convertedNLL
        scoredTokens += other.scoredTokens
        bitIdentical = bitIdentical && other.bitIdentical
    }

    var relativeL2: Double { sourceEnergy > 0 ? (differenceEnergy / sourceEnergy).squareRoot() : 0 }
    var meanKL: Double { positions > 0 ? klSum / Double(positions) : 0 }
    var top1Agreement: Double { positions > 0 ? Double(top1) / Double(positions) : 1 }
    var top5Agreement: Double { positions > 0 ? Double(top5Overlap) / Double(5 * positions) : 1 }
    var sourcePerplexity: Double? { scoredTokens > 0 ? exp(sourceNLL / Double(scoredTokens)) : nil }
    var convertedPerplexity: Double? { scoredTokens > 0 ? exp(convertedNLL / Double(scoredTokens)) : nil }

    private func logSoftmax(_ logits: ArraySlice<Float>) -> [Double] {
        let m = Double(logits.max() ?? 0)
        let sum = logits.reduce(0.0) { $0 + exp(Double($1) - m) }
        let log = m + Foundation.log(sum)
        return logits.map { Double($0) - log }
    }

    /// Indices of the k largest values, largest first; ties go to the lower index.
    private func top(_ k: Int, _ values: [Double]) -> [Int] {
        Array(values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.prefix(k))
    }
}
