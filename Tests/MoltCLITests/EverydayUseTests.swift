import Foundation
import Testing

/// What a new user trips over: misspelled commands, misleading help, prompts given every way.
private let trained = ["Fixtures/trained", "--tokenizer", "Fixtures/trained/tokenizer.json"]

@Test func aMisspelledCommandIsNamedWithItsLikelyMeaning() throws {
    let typo = try MoltBinary.run(["conver", "x", "-o", "y"])
    #expect(typo.status == 1)
    #expect(typo.stderr == "molt: error: unknown command 'conver'; did you mean 'convert'?\n")
    let unknown = try MoltBinary.run(["help", "nonexist"])
    #expect(unknown.status == 1)
    #expect(unknown.stderr.hasPrefix("molt: error: unknown command 'nonexist' (commands: inspect, export, convert,"))
    let known = try MoltBinary.run(["help", "convert"])
    #expect(known.status == 0)
    #expect(known.stdout.hasPrefix("OVERVIEW: Convert a checkpoint"))
}

@Test func helpNamesEveryExitCodeAndOneDefaultPerOption() throws {
    let top = try MoltBinary.run(["--help"])
    #expect(top.stdout.contains("Exit codes: 0 success, 1 usage error, 2 bad input, 3 failed parity"))
    let bench = try MoltBinary.run(["bench", "--help"])
    let threads = try #require(bench.stdout.components(separatedBy: "\n").first { $0.contains("--threads") && $0.contains("default") })
    #expect(threads.hasSuffix("Threads to run the model on (default: every core)."))
    #expect(threads.components(separatedBy: "(default:").count == 2)
}

@Test func countsAndThreadsOutOfRangeAreUsageErrors() throws {
    let negative = try MoltBinary.run(["generate", MoltBinary.fixture("a-zip-bare"), "--tokens", "1,2", "-n", "-5"])
    #expect(negative.status == 1)
    #expect(negative.stderr.hasPrefix("molt: error: -n must be 0 or more\n"))
    let zero = try MoltBinary.run(["bench", MoltBinary.fixture("a-zip-bare"), "-t", "0"])
    #expect(zero.status == 1)
    #expect(zero.stderr.hasPrefix("molt: error: --threads must be at least 1\n"))
    let minP = try MoltBinary.run(["run"] + trained + ["-p", "x", "--min-p", "2"])
    #expect(minP.status == 1)
    #expect(minP.stderr == "molt: error: min-p must be in [0, 1], not 2.0\n")
    let penalty = try MoltBinary.run(["run"] + trained + ["-p", "x", "--repeat-penalty", "0"])
    #expect(penalty.status == 1)
    #expect(penalty.stderr == "molt: error: repeat-penalty must be a number > 0 (1 is off), not 0.0\n")
}

@Test func runTakesItsPromptFromAnOptionAFileOrStandardInput() throws {
    let greedy = ["-n", "6", "--temperature", "0", "-t", "1"]
    let byShort = try MoltBinary.run(["run"] + trained + ["-p", "def fibonacci(n):"] + greedy)
    #expect(byShort.status == 0, "\(byShort.stderr)")
    #expect(!byShort.stdout.isEmpty)
    let byLong = try MoltBinary.run(["run"] + trained + ["--prompt", "def fibonacci(n):"] + greedy)
    #expect(byLong.stdout == byShort.stdout)
    try MoltBinary.withScratch { dir in
        let file = dir.appendingPathComponent("prompt.txt")
        try Data("def fibonacci(n):".utf8).write(to: file)
        let byFile = try MoltBinary.run(["run"] + trained + ["-f", file.path] + greedy)
        #expect(byFile.stdout == byShort.stdout)
        let echoed = try MoltBinary.run(["run"] + trained + ["-f", file.path, "--echo"] + greedy)
        #expect(echoed.stdout == "def fibonacci(n):" + byShort.stdout)
    }
    let byStdin = try MoltBinary.run(["run"] + trained + ["-p", "-"] + greedy, input: "def fibonacci(n):")
    #expect(byStdin.stdout == byShort.stdout)

    let none = try MoltBinary.run(["run"] + trained)
    #expect(none.status == 1)
    #expect(none.stderr.hasPrefix("molt: error: give a prompt: -p TEXT, -f FILE, or -i to type prompts\n"))
}

@Test func binaryFilesAreRefusedAsText() throws {
    let weights = "Fixtures/trained/model.safetensors"
    let run = try MoltBinary.run(["run"] + trained + ["-f", weights])
    #expect(run.status == 2)
    #expect(run.stderr == "molt: error: \(weights): byte 0: not UTF-8 text\n")
    try MoltBinary.withScratch { dir in
        let nul = dir.appendingPathComponent("nul.txt")
        try Data("text\0more".utf8).write(to: nul)
        let perplexity = try MoltBinary.run(["perplexity"] + trained + ["--text", nul.path])
        #expect(perplexity.status == 2)
        #expect(perplexity.stderr == "molt: error: \(nul.path): byte 4: not a text file (a NUL byte)\n")
        let calibrate = try MoltBinary.run(
            ["calibrate", "Fixtures/trained", "--text", nul.path, "-o", dir.appendingPathComponent("stats.moltcal").path])
        #expect(calibrate.status == 2)
        #expect(calibrate.stderr == "molt: error: \(nul.path): byte 4: not a text file (a NUL byte)\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("stats.moltcal").path))
    }
}

@Test func interactiveTurnsKeepTheState() throws {
    // An empty line lets the model go on from its state: two turns of 3 tokens are the same
    // tokens as one run of 6, with the turn's line break between them.
    let prompt = ["-p", "def fibonacci(n):", "--temperature", "0"]
    let three = try MoltBinary.run(["run"] + trained + prompt + ["-n", "3"])
    let six = try MoltBinary.run(["run"] + trained + prompt + ["-n", "6"])
    let turns = try MoltBinary.run(["run"] + trained + prompt + ["-n", "3", "-i"], input: "\n")
    #expect(turns.status == 0, "\(turns.stderr)")
    let first = String(three.stdout.dropLast())
    #expect(six.stdout.hasPrefix(first))
    #expect(turns.stdout == first + "\n" + six.stdout.dropFirst(first.count))
    #expect(turns.stderr.components(separatedBy: "molt: prompt:").count == 3)
}

@Test func whatAReaderIgnoredIsShownByInspectOnly() throws {
    let megatron = MoltBinary.fixture("b-zip-megatron")
    let inspect = try MoltBinary.run(["inspect", megatron])
    #expect(inspect.status == 0)
    #expect(inspect.stdout.contains("\nignored: object argparse.Namespace\n"))
    #expect(inspect.stdout.hasSuffix("\nignored: wrapper entries: 'args', 'checkpoint_version', 'iteration', 'rng_state'\n"))
    #expect(inspect.stderr.isEmpty)
    try MoltBinary.withScratch { dir in
        let export = try MoltBinary.run(["export", megatron, "-o", dir.appendingPathComponent("b.safetensors").path])
        #expect(export.status == 0)
        #expect(export.stderr.isEmpty, "\(export.stderr)")
    }
    let generate = try MoltBinary.run(["generate", megatron, "--tokens", "1,2", "-n", "1"])
    #expect(generate.stderr.isEmpty, "\(generate.stderr)")
}

@Test func aSingleWeightsFileUnderAnyNameIsFound() throws {
    try MoltBinary.withScratch { dir in
        let source = MoltBinary.fixture("a-zip-bare")
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: dir.appendingPathComponent("config.json").path)
        try FileManager.default.copyItem(
            atPath: source + "/pytorch_model.bin", toPath: dir.appendingPathComponent("bf16_pytorch_model.bin").path)
        let one = try MoltBinary.run(["inspect", dir.path])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("files:   \(dir.path)/bf16_pytorch_model.bin\n"))
        try FileManager.default.copyItem(atPath: source + "/pytorch_model.bin", toPath: dir.appendingPathComponent("model.pt").path)
        let two = try MoltBinary.run(["inspect", dir.path])
        #expect(two.status == 2)
        #expect(two.stderr == "molt: error: \(dir.path): several weights files and none with a standard name: "
            + "bf16_pytorch_model.bin, model.pt; name the one to read\n")
    }
}

@Test func progressIsLoggedWhenStderrIsNotATerminal() throws {
    try MoltBinary.withScratch { dir in
        let text = dir.appendingPathComponent("text.txt").path
        let heldout = try String(contentsOfFile: "Fixtures/trained/heldout.txt", encoding: .utf8)
        try heldout.prefix(2000).write(toFile: text, atomically: false, encoding: .utf8)
        let arguments = ["perplexity"] + trained + ["--text", text, "--context", "64"]
        let logged = try MoltBinary.run(arguments, environment: ["MOLT_PROGRESS_SECONDS": "0"])
        #expect(logged.status == 0, "\(logged.stderr)")
        let lines = logged.stderr.split(separator: "\n")
        #expect(lines.count >= 2)
        #expect(lines.allSatisfy { $0.hasPrefix("molt: perplexity: ") && $0.contains("tokens") && !$0.contains("\u{1B}") })
        let quiet = try MoltBinary.run(arguments, environment: ["MOLT_PROGRESS_SECONDS": "1000"])
        #expect(quiet.stderr.isEmpty)
    }
}

@Test func inspectShowsTheParityReportAsATable() throws {
    try MoltBinary.withScratch { dir in
        let molt = dir.appendingPathComponent("t.molt").path
        let convert = try MoltBinary.run(["convert", "Fixtures/trained", "-o", molt, "--tokenizer", "Fixtures/trained/tokenizer.json"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let inspect = try MoltBinary.run(["inspect", molt])
        #expect(inspect.stdout.contains("\nsequence "))
        #expect(inspect.stdout.contains("\nall (prefill) "))
        #expect(inspect.stdout.hasSuffix("\nparity: PASSED\n"))
        #expect(!inspect.stdout.contains("\"passed\""))
        // The figure says which tokens it is over, in convert and inspect alike.
        let perplexity = try #require(inspect.stdout.components(separatedBy: "\n").first { $0.hasPrefix("perplexity on the built-in text: ") })
        #expect(perplexity.hasSuffix(" predicted tokens (2 pieces of up to 64 tokens, each piece's first token unpredicted)"))
        #expect(convert.stderr.contains(perplexity))
        let json = try MoltBinary.run(["inspect", molt, "--json"])
        #expect(json.stdout.contains("\"passed\": true"))
    }
}

@Test func anExportIsACheckpointWithItsConfigAndTokenizer() throws {
    try MoltBinary.withScratch { dir in
        let molt = dir.appendingPathComponent("t.molt").path
        #expect(try MoltBinary.run(["convert", "Fixtures/trained", "-o", molt, "--tokenizer", "Fixtures/trained/tokenizer.json", "--no-verify"]).status == 0)
        let out = dir.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let weights = out.appendingPathComponent("model.safetensors").path
        let export = try MoltBinary.run(["export", molt, "-o", weights])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["config.json", "model.safetensors", "tokenizer.json"])
        #expect(try Data(contentsOf: out.appendingPathComponent("tokenizer.json")) == Data(contentsOf: URL(fileURLWithPath: "Fixtures/trained/tokenizer.json")))
        // The directory runs as a checkpoint, with the same greedy tokens as the .molt.
        let fromMolt = try MoltBinary.run(["generate", molt, "--tokens", "5,17,42", "-n", "4"])
        let fromExport = try MoltBinary.run(["generate", out.path, "--tokens", "5,17,42", "-n", "4"])
        #expect(fromExport.status == 0, "\(fromExport.stderr)")
        #expect(fromExport.stdout == fromMolt.stdout)
        // Exporting again needs --force for every file it would replace with other bytes.
        try FileManager.default.removeItem(atPath: weights)
        try Data("{}".utf8).write(to: out.appendingPathComponent("config.json"))
        let again = try MoltBinary.run(["export", molt, "-o", weights])
        #expect(again.status == 1)
        #expect(again.stderr == "molt: error: \(out.path)/config.json exists; pass --force to overwrite\n")
        #expect(!FileManager.default.fileExists(atPath: weights))
    }
}

@Test func benchRepeatsAndPrintsMarkdownOrCSV() throws {
    let model = MoltBinary.fixture("a-zip-bare")
    let base = ["bench", model, "--prompt", "4", "--gen", "2", "-r", "2", "-t", "1"]
    let markdown = try MoltBinary.run(base + ["--format", "markdown"])
    #expect(markdown.status == 0, "\(markdown.stderr)")
    let rows = markdown.stdout.split(separator: "\n")
    #expect(rows.count == 4)
    #expect(rows[0] == "| model | threads | kernels | test | t/s |")
    #expect(rows[2].hasPrefix("| \(model) | 1 | ") && rows[2].contains(" | pp4 | ") && rows[2].contains(" ± "))
    #expect(rows[3].contains(" | tg2 | "))
    let csv = try MoltBinary.run(base + ["--format", "csv"])
    let lines = csv.stdout.split(separator: "\n")
    #expect(lines.first == "model,threads,kernels,test,repetitions,tokens_per_second,tokens_per_second_sd")
    #expect(lines.count == 3 && lines[1].hasPrefix("\(model),1,") && lines[1].contains(",pp4,2,"))
    let json = try MoltBinary.run(base + ["--json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(object["repetitions"] as? Int == 2)
    #expect(object["decode_tokens_per_second_sd"] is Double)
    // A fixture this small stays in the caches: its files are not a bound, the buffers are.
    #expect(object["read_bandwidth_weights_gb_per_second_by_run"] is NSNull)
    #expect(["small", "huge"].contains(object["read_bandwidth_bound_by"] as? String))
    #expect(object["read_bandwidth_gb_per_second"] as? Double == max(
        object["read_bandwidth_small_pages_gb_per_second"] as? Double ?? .nan, object["read_bandwidth_huge_pages_gb_per_second"] as? Double ?? .nan))
    let none = try MoltBinary.run(["bench", model, "-r", "0"])
    #expect(none.status == 1)
    #expect(none.stderr.hasPrefix("molt: error: --repetitions must be at least 1\n"))
}
