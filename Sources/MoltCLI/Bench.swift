import ArgumentParser
import Foundation
import MoltCore
import MoltKernels
import MoltRuntime

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prefill and decode speed against this machine's memory bandwidth.",
        discussion: """
            Decode on a CPU is bound by the bytes of weights each token reads (every Mamba \
            layer, one expert per MoE layer, the whole output matrix). The bound is those \
            bytes over the read bandwidth measured here, in the same run. The bandwidth a \
            machine gives can change from one second to the next (other tenants, other \
            processes), so after each timed run the model's own mapped files are read as \
            decode reads them, and each run's decode is divided by the bandwidth of its own \
            moment; the share reported is the median of those. A model under 256 MiB, which \
            the caches serve, is bounded instead by the better of a buffer on 2 MiB (huge) \
            pages and one on 4 KiB pages, measured at the end and reported for every model \
            (Formats/kernels.md, "The bandwidth bound"). Prompt tokens are \
            seeded random ids; generation is timed as `molt run` does it, greedily. The kernels \
            run at the highest instruction-set level the CPU has; MOLT_KERNELS=scalar, avx2, \
            avx512 or avx512vnni chooses one by hand (refused where the CPU lacks it), and the \
            level used is reported. Prefill and decode are run --repetitions times (after \
            one warm-up) and reported as mean ± standard deviation; --format markdown or csv \
            prints them as llama-bench does, one row per test (pp: prompt processing, tg: text \
            generation).
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "Prompt length for the prefill measurement.")
    var prompt = 128

    @Option(help: "Tokens to decode for the decode measurement.")
    var gen = 64

    @Option(name: .shortAndLong, help: "Timed runs of prefill and decode, after one warm-up; each is followed by a read of the model's files, for the bandwidth of its moment.")
    var repetitions = 3

    @Option(help: "Output: text, json, markdown or csv.")
    var format: BenchFormat = .text

    @Flag(help: "Print one JSON object (as --format json).")
    var json = false

    enum BenchFormat: String, CaseIterable, ExpressibleByArgument {
        case text, json, markdown, csv
    }

    func validate() throws {
        guard prompt >= 1, gen >= 1 else { throw ValidationError("--prompt and --gen must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
    }

    func run() throws {
        let loadStart = Date()
        let loaded = try model.load()
        let network = loaded.model
        let loadSeconds = Date().timeIntervalSince(loadStart)
        // Before timing, which a check on the other core would slow.
        try loaded.checksums.wait()
        var random = SplitMix64(seed: 0x42)
        let tokens = random.tokens(prompt, below: network.config.vocabSize)

        // Timed as `molt run` generates, greedily: the first token comes from the prefill's
        // logits, each later one from a decode step. The warm-up run faults the weights in.
        let threads = model.threads ?? ProcessInfo.processInfo.activeProcessorCount
        var prefillRates: [Double] = [], decodeRates: [Double] = [], weightsRates: [Double] = []
        for run in 0...repetitions {
            var sampler = Sampler.greedy
            var marks: [Date] = []
            let prefillStart = Date()
            _ = try network.generate(prompt: tokens, maxNewTokens: gen + 1, sampler: &sampler) { _ in
                marks.append(Date())
                return true
            }
            guard run > 0 else { continue }
            prefillRates.append(Double(prompt) / marks[0].timeIntervalSince(prefillStart))
            decodeRates.append(Double(gen) / marks[marks.count - 1].timeIntervalSince(marks[0]))
            if let rate = Self.weightsBandwidth(loaded.mappings, threads: threads) { weightsRates.append(rate) }
        }
        let prefill = Spread(prefillRates), decode = Spread(decodeRates)
        // Before the buffers' measurement, whose pages would count as the model's.
        let peakRSS = ResourceUsage.peakResidentBytes
        guard let probe = MemoryBandwidth.probe(threads: threads) else {
            throw MoltError(.io, "could not allocate the bandwidth measurement's buffer")
        }
        // Each run's decode against the bandwidth of its own moment; a small model's runs
        // against the buffers'.
        let byWeights = weightsRates.count == decodeRates.count
        let bandwidths = byWeights ? weightsRates : decodeRates.map { _ in probe.best.bytesPerSecond }
        let bandwidth = Self.median(bandwidths)
        let boundBy = byWeights ? "weights" : probe.best.pages.rawValue

        let active = network.activeBytesPerToken
        let decodeRate = decode.mean
        let bound = bandwidth / Double(active)
        let share = Self.median(zip(decodeRates, bandwidths).map { $0 * Double(active) / $1 })
        let result: [(String, JSON)] = [
            ("model", .string(model.model)),
            ("load_seconds", .double(loadSeconds)),
            ("prompt_tokens", .int(prompt)),
            ("repetitions", .int(repetitions)),
            ("prefill_tokens_per_second", .double(prefill.mean)),
            ("prefill_tokens_per_second_sd", .double(prefill.sd)),
            ("decode_tokens", .int(gen)),
            ("decode_tokens_per_second", .double(decodeRate)),
            ("decode_tokens_per_second_sd", .double(decode.sd)),
            ("read_bandwidth_gb_per_second", .double(bandwidth / 1e9)),
            ("read_bandwidth_pages", .string(probe.best.pages.rawValue)),
            ("read_bandwidth_small_pages_gb_per_second", .double(probe.small.bytesPerSecond / 1e9)),
            ("read_bandwidth_huge_pages_gb_per_second", .double(probe.huge.bytesPerSecond / 1e9)),
            ("huge_page_share_of_huge_buffer", probe.huge.hugePageShare.map { .double($0) } ?? .null),
            ("read_bandwidth_weights_gb_per_second_by_run", byWeights ? .array(weightsRates.map { .double($0 / 1e9) }) : .null),
            ("read_bandwidth_bound_by", .string(boundBy)),
            ("weights_huge_page_share", loaded.pages.hugeShare.map { .double($0) } ?? .null),
            ("active_bytes_per_token", .int(active)),
            ("decode_bound_tokens_per_second", .double(bound)),
            ("decode_share_of_bound", .double(share)),
            ("peak_rss_bytes", .int(peakRSS)),
            ("kernel_path", .string(KernelPath.best.description)),
        ]
        let rows = [("pp\(prompt)", prefill), ("tg\(gen)", decode)]
        switch json ? .json : format {
        case .json:
            print(JSON.object(result).serialized(indent: 2))
        case .markdown:
            print("| model | threads | kernels | test | t/s |\n|---|---:|---|---|---:|")
            for (test, spread) in rows {
                print(String(format: "| %@ | %d | %@ | %@ | %.2f ± %.2f |", model.model, threads, KernelPath.best.description, test,
                             spread.mean, spread.sd))
            }
        case .csv:
            print("model,threads,kernels,test,repetitions,tokens_per_second,tokens_per_second_sd")
            for (test, spread) in rows {
                print(String(format: "%@,%d,%@,%@,%d,%.4f,%.4f", Self.csvField(model.model), threads, KernelPath.best.description,
                             test, repetitions, spread.mean, spread.sd))
            }
        case .text:
            print(String(format: "prefill  %8.1f ± %.1f tokens/s  (%d tokens, %d runs)", prefill.mean, prefill.sd, prompt, repetitions))
            print(String(format: "decode   %8.1f ± %.1f tokens/s  (%d tokens, %d runs)", decode.mean, decode.sd, gen, repetitions))
            print(String(format: "bound    %8.1f tokens/s  = %@ per token / %.1f GB/s read bandwidth (%d threads, %@)",
                         bound, Formatting.bytes(active), bandwidth / 1e9, threads,
                         byWeights ? "median of the model's files after each run" : "the better buffer"))
            if byWeights {
                print("files    " + weightsRates.map { String(format: "%.1f", $0 / 1e9) }.joined(separator: ", ")
                    + " GB/s reading the model's files after each run")
            }
            print(String(format: "buffers  %.1f GB/s on 2 MiB pages (%@ of the buffer huge), %.1f GB/s on 4 KiB pages",
                         probe.huge.bytesPerSecond / 1e9, probe.huge.hugePageShare.map { String(format: "%.0f%%", $0 * 100) } ?? "share unknown",
                         probe.small.bytesPerSecond / 1e9))
            print(String(format: "decode is %.0f%% of the bandwidth bound (median of the runs); peak RSS %@; %@", share * 100,
                         Formatting.bytes(peakRSS), Self.weightPages(loaded.pages)))
            print("kernels  \(KernelPath.best) (of \(KernelPath.supported.map(\.description).joined(separator: ", ")); MOLT_KERNELS chooses)")
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// The rate the model's own mapped files are read at, by the probe's passes: their bytes
    /// over the sum of each file's time at its best pass. Nil under 256 MiB, which the caches
    /// would serve: such a model's decode does not read memory either.
    static func weightsBandwidth(_ files: [MappedFile], threads: Int) -> Double? {
        let large = files.filter { $0.count >= 1 << 20 }
        let total = large.reduce(0) { $0 + $1.count }
        guard total >= 256 << 20 else { return nil }
        var seconds = 0.0
        for file in large {
            guard let rate = MemoryBandwidth.read(file.bytes, threads: threads) else { return nil }
            seconds += Double(file.count) / rate
        }
        return Double(total) / seconds
    }

    private static func weightPages(_ pages: MappedFile.PageBacking) -> String {
        guard let share = pages.hugeShare else { return "weights' page size unknown" }
        return String(format: "weights %.0f%% on 2 MiB pages", share * 100)
    }

    /// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Mean and sample standard deviation of repeated measurements.
struct Spread {
    let mean: Double
    let sd: Double

    init(_ values: [Double]) {
        mean = values.reduce(0, +) / Double(values.count)
        let m = mean
        sd = values.count > 1 ? (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot() : 0
    }
}
