import ArgumentParser
import Foundation
import Logging
import MoltCore
import MoltServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over an OpenAI-compatible HTTP API, batching concurrent requests.",
        discussion: """
            Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health \
            (503 while the model loads, then 200), POST /tokenize, POST /detokenize, GET /metrics \
            (Prometheus). Requests join the running batch between decode steps; a new prompt is \
            prefilled --prefill-chunk positions at a time between them. Chat messages go through \
            a plain-text template (BlackMamba is a base model); see Formats/serve.md. SIGINT or \
            SIGTERM stops accepting connections, finishes the requests in flight, then exits.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "A tokenizer.json, when the model does not embed one.")
    var tokenizer: String?

    @Option(help: "Address to listen on; the default answers this machine only.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port = 8080

    @Option(help: "Most sequences decoded together in one step.")
    var maxBatch = 8

    @Option(help: "Most requests waiting for a place in the batch; more are answered 429.")
    var maxQueue = 64

    @Option(help: "Most positions of one sequence, prompt plus generated tokens.")
    var context = 4096

    @Option(help: "Require 'Authorization: Bearer KEY' on every route but /health (or set MOLT_API_KEY).")
    var apiKey: String?

    @Option(help: "Largest request body in bytes; larger ones are answered 413.")
    var maxRequestBytes = 1 << 20

    @Option(help: "Prompt positions prefilled between two decode steps: the longest a running stream waits for a newcomer. The default (the runtime's own chunk) keeps outputs bit for bit those of `molt generate`.")
    var prefillChunk = 512

    @Option(help: "The model's id in responses (default: the model file's name).")
    var name: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be 0 or more") }
        guard context >= 2 else { throw ValidationError("--context must be at least 2") }
        guard maxRequestBytes >= 1024 else { throw ValidationError("--max-request-bytes must be at least 1024") }
        guard prefillChunk >= 1 else { throw ValidationError("--prefill-chunk must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        if let key = apiKey ?? ProcessInfo.processInfo.environment["MOLT_API_KEY"], key.isEmpty {
            throw ValidationError("the API key must not be empty")
        }
    }

    func run() throws {
        var settings = ServerConfiguration()
        settings.host = host
        settings.port = port
        settings.maxBatch = maxBatch
        settings.maxQueue = maxQueue
        settings.context = context
        settings.apiKey = apiKey ?? ProcessInfo.processInfo.environment["MOLT_API_KEY"]
        settings.maxRequestBytes = maxRequestBytes
        settings.prefillChunk = prefillChunk
        settings.modelName = name ?? URL(fileURLWithPath: model.model).lastPathComponent

        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "molt.serve")
        let model = self.model, tokenizer = self.tokenizer
        let server = InferenceServer(configuration: settings, logger: logger) {
            let loaded = try model.load(warn: { logger.warning("\($0)") }, note: { logger.info("\($0)") })
            let tokenizer = try TokenizerSource.load(tokenizer, embeddedIn: loaded.molt)
            // Not ready (/health answers 503) until the file's checksums match.
            try loaded.checksums.wait()
            return LoadedModel(model: loaded.model, tokenizer: tokenizer)
        }
        // The server drains on SIGINT and SIGTERM itself.
        Interrupts.stopHandlingSignals()
        let host = self.host
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { port in logger.info("listening on http://\(host):\(port)") }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}

/// How the server's task ended, read once it has.
private final class Outcome: @unchecked Sendable {
    var error: (any Error)?
}
