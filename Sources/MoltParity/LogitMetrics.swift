import Foundation

/// Agreement between two models' logits over a run of positions, accumulated so sums over
/// sequences give exact overall figures: the parity check's, and `molt perplexity --against`'s.
public struct LogitMetrics: Sendable {
    public internal(set) var positions = 0
    var sourceEnergy = 0.0
    var differenceEnergy = 0.0
    public internal(set) var maxAbs = 0.0
    var klSum = 0.0
    public internal(set) var klMax = 0.0
    var top1 = 0
    var top5Overlap = 0
    /// Negative log-likelihood of the next token, when the tokens are text.
    var sourceNLL = 0.0
    var convertedNLL = 0.0
    public internal(set) var scoredTokens = 0
    public internal(set) var bitIdentical = true

    public init() {}

    /// Adds rows of `vocab` logits; `next[i]` is the token that follows row i, if known.
    public mutating func add(source: ArraySlice<Float>, converted: ArraySlice<Float>, vocab: Int, next: [Int?]) {
        let rows = source.count / vocab
        bitIdentical = bitIdentical && source.elementsEqual(converted)
        source.withUnsafeBufferPointer { s in
            converted.withUnsafeBufferPointer { c in
                for r in 0..<rows {
                    add(row: UnsafeBufferPointer(rebasing: s[r * vocab..<(r + 1) * vocab]),
                        UnsafeBufferPointer(rebasing: c[r * vocab..<(r + 1) * vocab]), next: r < next.count ? next[r] : nil)
                }
            }
        }
        positions += rows
    }

    /// One position. KL(p || q) = sum p (log p - log q) = sum p (s - c) + log Zc - log Zs for
    /// logits s, c with partition functions Zs, Zc: one pass and two exponentials per entry.
    private mutating func add(row s: UnsafeBufferPointer<Float>, _ c: UnsafeBufferPointer<Float>, next: Int?) {
        let ms = Double(s.max() ?? 0), mc = Double(c.max() ?? 0)
        var zs = 0.0, zc = 0.0, weighted = 0.0
        for i in s.indices {
            let a = Double(s[i]), b = Double(c[i]), d = a - b
            sourceEnergy += a * a
            differenceEnergy += d * d
            maxAbs = max(maxAbs, abs(d))
            let e = exp(a - ms)
            zs += e
            zc += exp(b - mc)
            weighted += e * d
        }
        let logZs = ms + log(zs), logZc = mc + log(zc)
        // Rounding can leave a tiny negative where the distributions agree.
        let kl = max(0, weighted / zs + logZc - logZs)
        klSum += kl
        klMax = max(klMax, kl)
        let topS = top5(s), topC = top5(c)
        if topS[0] == topC[0] { top1 += 1 }
        top5Overlap += Set(topS).intersection(topC).count
        if let target = next {
            sourceNLL -= Double(s[target]) - logZs
            convertedNLL -= Double(c[target]) - logZc
            scoredTokens += 1
        }
    }

    public mutating func merge(_ other: LogitMetrics) {
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

    /// NaN when either model's logits were not finite (so that a check of it fails).
    public var relativeL2: Double { sourceEnergy != 0 ? (differenceEnergy / sourceEnergy).squareRoot() : 0 }
    public var meanKL: Double { positions > 0 ? klSum / Double(positions) : 0 }
    public var top1Agreement: Double { positions > 0 ? Double(top1) / Double(positions) : 1 }
    public var top5Agreement: Double { positions > 0 ? Double(top5Overlap) / Double(5 * positions) : 1 }
    public var sourcePerplexity: Double? { scoredTokens > 0 ? exp(sourceNLL / Double(scoredTokens)) : nil }
    public var convertedPerplexity: Double? { scoredTokens > 0 ? exp(convertedNLL / Double(scoredTokens)) : nil }

    /// Indices of the 5 largest values, largest first; ties go to the lower index.
    private func top5(_ values: UnsafeBufferPointer<Float>) -> [Int] {
        var best: [Int] = []
        for i in values.indices where best.count < 5 || values[i] > values[best[4]] {
            var at = best.count < 5 ? best.count : 4
            if best.count < 5 { best.append(i) } else { best[4] = i }
            while at > 0, values[best[at - 1]] < values[i] {
                best.swapAt(at - 1, at)
                at -= 1
            }
        }
        return best
    }
}
