import Foundation
import ArgumentParser
import MoltCheckpoint
import MoltCore
import MoltFormat
import MoltKernels
import MoltRuntime
import MoltTokenizer

/// Options every command that runs a model shares.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: a .molt file, a checkpoint directory, weights file or shard index.")
    var model: String

    @Option(help: "The config.json to use when none sits beside the weights.")
    var config: String?

    @Option(name: .shortAndLong, help: "Threads to run the model on (default: every core).")
    var threads: Int?

    @Flag(help: """
        Use a .molt file without checking its checksums. By default they are checked on a \
        thread of their own while the model runs, and nothing is output before the check passes.
        """)
    var noCheck = false

    @Flag(help: """
        Leave the model's files on the page cache's pages as they are. By default, when the \
        cache holds one on 4 KiB pages (a file just converted or copied), or parts of one, they \
        are read again from disk once so that they are cached and mapped on 2 MiB pages, on \
        which decode reads weights faster (Formats/runtime.md).
        """)
    var smallPages = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    var kernels: KernelThreads { threads.map { KernelThreads.forModel(count: $0) } ?? .shared }

    /// The model the options name; `warn` shows the warning for a file that failed its parity
    /// check, `note` says when the file was read again onto 2 MiB pages.
    func load(warn: (String) -> Void = Terminal.warning, note: (String) -> Void = Terminal.note) throws -> BoundModel {
        try BoundModel.load(
            model, config: config, check: !noCheck, kernels: kernels, rereadOntoHugePages: !smallPages, warn: warn, note: note)
    }
}

/// A model ready to run, the .molt file it came from (for its embedded tokenizer), if it did,
/// and the check of that file's checksums, which a command waits for before its first output.
struct BoundModel {
    let model: BlackMambaModel
    let molt: MoltFile?
    let checksums: ChecksumCheck
    /// How the mapped weights are backed.
    let pages: MappedFile.PageBacking
    /// The files the weights are mapped from.
    let mappings: [MappedFile]

    /// Binds the weights of a .molt file (q8/q4, f16 and bf16 weights read in place by the
    /// kernels; its checksums checked in the background unless `check` is false) or of a source
    /// checkpoint, whose zip CRCs are checked on the other core while bf16 weights are widened.
    static func load(
        _ path: String, config: String?, check: Bool, kernels: KernelThreads, rereadOntoHugePages: Bool = true,
        warn: (String) -> Void = Terminal.warning, note: (String) -> Void = Terminal.note
    ) throws -> BoundModel {
        if MoltFile.looksLikeMolt(path: path) {
            guard config == nil else { throw MoltError(.usage, "--config applies to source checkpoints; a .molt file holds its config") }
            let file = try MoltFile(path: path)
            if let warning = file.failedParityWarning { warn(warning) }
            // Before the checksum thread starts reading the mapping.
            let pages = file.preferHugePages(reread: rereadOntoHugePages)
            report(pages, of: path, note: note)
            let checksums = check ? ChecksumCheck(file) : ChecksumCheck.skipped
            return BoundModel(
                model: try BlackMambaModel(molt: file, kernels: kernels), molt: file, checksums: checksums, pages: pages,
                mappings: [file.mapping])
        }
        let checkpoint = try Checkpoint.open(path, configPath: config, verifyChecksums: true)
        let modelConfig = try checkpoint.requireModel()
        let pages = MappedFile.preferHugePages(checkpoint.tensors.mappedFiles, reread: rereadOntoHugePages)
        report(pages, of: path, note: note)
        let bound = try checkpoint.tensors.verifyingIntegrity {
            try BlackMambaModel(config: modelConfig, tensors: checkpoint.tensors.byName, kernels: kernels)
        }
        return BoundModel(model: bound, molt: nil, checksums: .skipped, pages: pages, mappings: checkpoint.tensors.mappedFiles)
    }

    private static func report(_ pages: MappedFile.PageBacking, of path: String, note: (String) -> Void) {
        guard let seconds = pages.rereadSeconds, let bytes = pages.rereadBytes else { return }
        note(String(format: "%@ of %@ was cached on 4 KiB pages: read again onto 2 MiB pages in %.1f s (once; --small-pages skips this)",
                    Formatting.bytes(bytes), path, seconds))
    }
}

/// Where a command that takes text finds its tokenizer.
enum TokenizerSource {
    /// `path` (a tokenizer.json, or a .molt whose embedded one is used), else the one embedded
    /// in `molt`.
    static func load(_ path: String?, embeddedIn molt: MoltFile?) throws -> Tokenizer {
        if let path {
            guard MoltFile.looksLikeMolt(path: path) else { return try Tokenizer(path: path) }
            return try embedded(in: MoltFile(path: path), what: path)
        }
        guard let molt else {
            throw MoltError(.usage, "text needs a tokenizer: pass --tokenizer tokenizer.json (or convert with --tokenizer)")
        }
        return try embedded(in: molt, what: molt.path)
    }

    private static func embedded(in file: MoltFile, what: String) throws -> Tokenizer {
        guard let name = file.header.tokenizer else {
            throw MoltError(.usage, "\(what) has no embedded tokenizer: pass --tokenizer tokenizer.json")
        }
        let blob = try file.blob(name)
        return try withExtendedLifetime(blob) {
            try Tokenizer(json: Data(blob.bytes), file: "\(what): \(name)")
        }
    }
}

/// A comma-separated list of token ids, as `--tokens 5,17,42`.
struct TokenList: ExpressibleByArgument {
    var ids: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if parts == [""] {
            ids = []
            return
        }
        var ids: [Int] = []
        for part in parts {
            guard let id = Int(part) else { return nil }
            ids.append(id)
        }
        self.ids = ids
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
