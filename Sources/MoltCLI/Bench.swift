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
            bytes over the read bandwidth measured here, in the same run. Prompt tokens are \
            seeded random ids; generation is timed as `molt run` does it, greedily. The kernels \
            run at the highest instruction-set level the CPU has; MOLT_KERNELS=scalar, avx2, \
            avx512 or avx512vnni chooses one by hand (refused where the CPU lacks it), and the \
            level used is reported.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "Prompt length for the prefill measurement.")
    var prompt = 128

    @Option(help: "Tokens to decode for the decode measurement.")
    var gen = 64

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard prompt >= 1, gen >= 1 else { throw ValidationError("--prompt and --gen must be at least 1") }
    }

    func run() throws {
        let loadStart = Date()
        let network = try model.load()
        let loadSeconds = Date().timeIntervalSince(loadStart)
        var random = SplitMix64(seed: 0x42)
        let tokens = random.tokens(prompt, below: network.config.vocabSize)

        // Timed as `molt run` generates, greedily: the first token comes from the prefill's
        // logits, each later one from a decode step.
        var sampler = Sampler.greedy
        var marks: [Date] = []
        let prefillStart = Date()
        _ = try network.generate(prompt: tokens, maxNewTokens: gen + 1, sampler: &sampler) { _ in
            marks.append(Date())
            return true
        }
        let prefillSeconds = marks[0].timeIntervalSince(prefillStart)
        let decodeSeconds = marks[marks.count - 1].timeIntervalSince(marks[0])
        // Before the bandwidth measurement, whose buffer would count as the model's.
        let peakRSS = ResourceUsage.peakResidentBytes
        let threads = model.threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard let bandwidth = MemoryBandwidth.read(threads: threads) else {
            throw MoltError(.io, "could not allocate the bandwidth measurement's buffer")
        }

        let active = network.activeBytesPerToken
        let decodeRate = Double(gen) / decodeSeconds
        let bound = bandwidth / Double(active)
        let result: [(String, JSON)] = [
            ("model", .string(model.model)),
            ("load_seconds", .double(loadSeconds)),
            ("prompt_tokens", .int(prompt)),
            ("prefill_tokens_per_second", .double(Double(prompt) / prefillSeconds)),
            ("decode_tokens", .int(gen)),
            ("decode_tokens_per_second", .double(decodeRate)),
            ("read_bandwidth_gb_per_second", .double(bandwidth / 1e9)),
            ("active_bytes_per_token", .int(active)),
            ("decode_bound_tokens_per_second", .double(bound)),
            ("decode_share_of_bound", .double(decodeRate / bound)),
            ("peak_rss_bytes", .int(peakRSS)),
            ("kernel_path", .string(KernelPath.best.description)),
        ]
        if json {
            print(JSON.object(result).serialized(indent: 2))
        } else {
            print(String(format: "prefill  %8.1f tokens/s  (%d tokens)", Double(prompt) / prefillSeconds, prompt))
            print(String(format: "decode   %8.1f tokens/s  (%d tokens)", decodeRate, gen))
            print(String(format: "bound    %8.1f tokens/s  = %@ per token / %.1f GB/s read bandwidth (%d threads)",
                         bound, Formatting.bytes(active), bandwidth / 1e9, threads))
            print(String(format: "decode is %.0f%% of the bandwidth bound; peak RSS %@", decodeRate / bound * 100,
                         Formatting.bytes(peakRSS)))
            print("kernels  \(KernelPath.best) (of \(KernelPath.supported.map(\.description).joined(separator: ", ")); MOLT_KERNELS chooses)")
        }
    }
}
