import Testing

@testable import MoltQuant

/// `molt convert`'s default quantizer (Formats/quantization.md, "The default method").
struct DefaultMethodTests {
    /// The [out, in] shapes a default recipe quantizes (q4 experts, q8 Mamba projections and
    /// embedding) in a gated BlackMamba: `layers` Mamba and `layers` MoE layers.
    static func shapes(hidden h: Int, ffn f: Int, experts: Int, layers: Int, vocab: Int, dtRank: Int, state: Int) -> [(rows: Int, columns: Int)] {
        let inner = 2 * h
        let mamba = [(2 * inner, h), (dtRank + 2 * state, inner), (inner, dtRank), (h, inner)]
        let expert = [(2 * f, h), (h, f)]
        let perLayer = mamba + Array(repeating: expert, count: experts).flatMap { $0 }
        return (Array(repeating: perLayer, count: layers).flatMap { $0 } + [(vocab, h)]).map { (rows: $0.0, columns: $0.1) }
    }

    @Test func workCountsTheFactorAndTheUpdates() {
        // 2/3 · 6³ + 3 · 6² = 144 + 108.
        #expect(QuantMethod.gptqWork(rows: 3, columns: 6) == 252)
    }

    @Test func smallModelsGetGPTQAndLargeOnesTheWeightedSearch() {
        let fixture = Self.shapes(hidden: 256, ffn: 128, experts: 8, layers: 4, vocab: 4096, dtRank: 16, state: 16)
        let published = Self.shapes(hidden: 1152, ffn: 3072, experts: 8, layers: 15, vocab: 50304, dtRank: 72, state: 16)
        #expect(QuantMethod.defaultMethod(quantizing: fixture, gramAvailable: true) == .gptq)
        #expect(QuantMethod.defaultMethod(quantizing: published, gramAvailable: true) == .weighted)
        let work = QuantMethod.gptqWork(published)
        #expect(work > 4e12 && work < 6e12)
    }

    @Test func withoutGramStatisticsTheDefaultIsWeighted() {
        #expect(QuantMethod.defaultMethod(quantizing: [(rows: 8, columns: 8)], gramAvailable: false) == .weighted)
        #expect(QuantMethod.defaultMethod(quantizing: [(rows: 8, columns: 8)], gramAvailable: true) == .gptq)
    }
}
