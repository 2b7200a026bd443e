import Foundation
import Hummingbird
import MoltCore
import MoltRuntime
import MoltTokenizer

/// The HTTP API (Formats/serve.md): OpenAI's completion, chat and model routes, llama-server's
/// tokenize routes, health and metrics.
struct Routes: Sendable {
    let configuration: ServerConfiguration
    let engine: EngineService
    let metrics: ServerMetrics
    let created = Int(Date().timeIntervalSince1970)

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in
            guard engine.ready != nil else { throw APIError(.serviceUnavailable, "the model is loading") }
            return Response.json(.object([("status", "ok")]))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("/v1/models") { _, _ in Response.json(models()) }
        router.post("/tokenize") { request, _ in
            var request = request
            let (engine, body) = try await prepare(&request)
            guard let content = try body.string("content") else { throw APIError.field("content", "is required") }
            return Response.json(.object([("tokens", JSON(engine.tokenizer.encode(content)))]))
        }
        router.post("/detokenize") { request, _ in
            var request = request
            let (engine, body) = try await prepare(&request)
            let ids = try body.tokenIDs("tokens")
            if let bad = ids.first(where: { $0 < 0 || $0 >= engine.tokenizer.vocabularySize }) {
                throw APIError.field("tokens", "holds \(bad), outside the vocabulary 0..<\(engine.tokenizer.vocabularySize)")
            }
            return Response.json(.object([("content", .string(engine.tokenizer.decode(ids)))]))
        }
        router.post("/v1/completions") { request, _ in
            var request = request
            let (engine, body) = try await prepare(&request)
            let prompt: [Int]
            switch try body.require("prompt") {
            case .string(let text): prompt = engine.tokenizer.encode(text)
            case .array(let items) where items.count == 1 && items[0].isTextOrIDs:
                // One prompt in a batch of one, as some clients send it.
                prompt = try items[0].string.map(engine.tokenizer.encode) ?? RequestFields.tokenIDs(items[0], field: "prompt")
            case let value: prompt = try RequestFields.tokenIDs(value, field: "prompt")
            }
            let parameters = try GenerationParameters(body)
            return try await complete(
                Completion(kind: .text, prompt: prompt, promptField: "prompt", parameters: parameters, extraStops: []), on: engine,
                request: request)
        }
        router.post("/v1/chat/completions") { request, _ in
            var request = request
            let (engine, body) = try await prepare(&request)
            let prompt = engine.tokenizer.encode(ChatTemplate.render(try ChatTemplate.messages(body)))
            let parameters = try GenerationParameters(body)
            return try await complete(
                Completion(kind: .chat, prompt: prompt, promptField: "messages", parameters: parameters, extraStops: ChatTemplate.turnStops),
                on: engine, request: request)
        }
    }

    /// The ready engine and the request's JSON body (at most `maxRequestBytes`). The body is
    /// kept in `request`, which can then still tell when the client's side closes.
    private func prepare(_ request: inout Request) async throws -> (Engine, RequestFields) {
        let data = Data(try await request.collectBody(upTo: configuration.maxRequestBytes).readableBytesView)
        guard let engine = engine.ready else { throw APIError(.serviceUnavailable, "the model is loading") }
        return (engine, try RequestFields(data))
    }

    private func models() -> JSON {
        let card: JSON = .object([
            ("id", .string(configuration.modelName)), ("object", "model"), ("created", .int(created)), ("owned_by", "molt"),
            ("molt", .object([
                ("base_model", true),
                ("chat_template", .string(ChatTemplate.summary)),
                ("context", .int(configuration.context)),
                ("max_batch", .int(configuration.maxBatch)),
                ("ready", .bool(engine.ready != nil)),
            ])),
        ])
        return .object([("object", "list"), ("data", .array([card]))])
    }

    // MARK: Completions

    private func complete(_ asked: Completion, on engine: Engine, request httpRequest: Request) async throws -> Response {
        var fitted = asked
        try fitted.fitContext(configuration.context, model: engine.model)
        let completion = fitted
        let request = GenerationRequest(
            prompt: completion.prompt, maxTokens: completion.maxTokens, sampler: try completion.sampler(),
            stopTokens: completion.parameters.ignoreEndOfText ? [] : engine.tokenizer.endOfText.map { [$0] } ?? [])
        let stream: GenerationStream
        do {
            stream = try engine.scheduler.submit(request)
        } catch SchedulerRefusal.queueFull(let limit) {
            throw APIError(.tooManyRequests, "the server is busy: \(limit) requests already wait; retry later")
        } catch SchedulerRefusal.shuttingDown {
            throw APIError(.serviceUnavailable, "the server is shutting down")
        }
        let id = (completion.kind == .chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let shape = ResponseShape(kind: completion.kind, id: id, created: created, model: configuration.modelName)
        if completion.parameters.stream {
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    // Ends the sequence however this closure is left: a failed write is a client gone.
                    defer { stream.cancel() }
                    func send(_ line: String) async throws { try await writer.write(ByteBuffer(string: "data: \(line)\n\n")) }
                    if completion.kind == .chat { try await send(shape.chunk(text: nil, role: true).serialized()) }
                    let result = try await run(stream, completion, engine) { text, ids in
                        try await send(shape.chunk(text: text, ids: ids).serialized())
                    }
                    if result.reason == .failed {
                        try await send(APIError(.internalServerError, "generation failed").json.serialized())
                    } else {
                        try await send(shape.chunk(text: nil, finish: result.reason, usage: result.usage(completion)).serialized())
                    }
                    try await send("[DONE]")
                    try await writer.finish(nil)
                })
        }
        defer { stream.cancel() }
        // Nothing is written until the answer is whole, so a client that leaves is seen only as
        // its side of the connection closing: that ends the sequence at once. (Hummingbird then
        // closes the connection after the answer, so the answer says so.)
        let disconnection = Disconnection()
        var text = "", ids: [Int] = []
        let result = try await httpRequest.body.consumeWithInboundCloseHandler { _ in
            try await run(stream, completion, engine) { piece, pieceIDs in
                text += piece
                ids += pieceIDs
            }
        } onInboundClosed: {
            disconnection.happened()
            stream.cancel()
        }
        // (The watcher also reports a close once the answer is ready and it is stopped.)
        if result.reason == .cancelled && disconnection.seen { throw APIError.clientClosedRequest }
        guard result.reason != .failed else { throw APIError(.internalServerError, "generation failed") }
        var response = Response.json(shape.whole(text: text, ids: ids, finish: result.reason, usage: result.usage(completion)))
        response.headers[.connection] = "close"
        return response
    }

    /// Follows the sequence to its end, handing `emit` its text (cut at stop strings) with the
    /// ids that made it.
    private func run(
        _ stream: GenerationStream, _ completion: Completion, _ engine: Engine, emit: (String, [Int]) async throws -> Void
    ) async throws -> Outcome {
        var decoder = engine.tokenizer.streamingDecoder(skipSpecialTokens: true)
        var stops = StopStrings(completion.parameters.stop + completion.extraStops)
        var generated = 0, reason = FinishReason.cancelled
        events: for await event in stream.events {
            switch event {
            case .token(let id):
                generated += 1
                let text = stops.feed(decoder.feed(id))
                if stops.stopped {
                    stream.stop()
                    try await emit(text, [id])
                    reason = .stop
                    break events
                }
                try await emit(text, [id])
            case .finished(let why):
                reason = why
                let rest = stops.feed(decoder.flush()) + stops.finish()
                if !rest.isEmpty { try await emit(rest, []) }
            }
        }
        return Outcome(reason: reason, generated: generated)
    }
}

/// Whether the client's side of a connection has closed; set from Hummingbird's watcher task.
private final class Disconnection: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false

    func happened() { lock.withLock { closed = true } }
    var seen: Bool { lock.withLock { closed } }
}

/// How a sequence ended, and how many tokens it produced.
private struct Outcome {
    let reason: FinishReason
    let generated: Int

    func usage(_ completion: Completion) -> JSON {
        .object([
            ("prompt_tokens", .int(completion.prompt.count)), ("completion_tokens", .int(generated)),
            ("total_tokens", .int(completion.prompt.count + generated)),
        ])
    }
}

/// One completion request, endpoint-independent.
struct Completion: Sendable {
    enum Kind { case text, chat }
    let kind: Kind
    var prompt: [Int]
    /// The request field the prompt came from, for errors.
    let promptField: String
    let parameters: GenerationParameters
    let extraStops: [String]
    var maxTokens = 0

    init(kind: Kind, prompt: [Int], promptField: String, parameters: GenerationParameters, extraStops: [String]) {
        self.kind = kind
        self.prompt = prompt
        self.promptField = promptField
        self.parameters = parameters
        self.extraStops = extraStops
    }

    /// Checks the prompt against the model and the context, and settles `maxTokens`: as asked,
    /// or (when not given) 16 for text completions as OpenAI does and what the context leaves
    /// for chat.
    mutating func fitContext(_ context: Int, model: BlackMambaModel) throws {
        guard !prompt.isEmpty else { throw APIError.field(promptField, "encodes to no tokens") }
        do {
            try model.validate(tokens: prompt)
        } catch let error as MoltError {
            throw APIError.field(promptField, "holds a bad token: \(error.message)")
        }
        guard prompt.count < context else {
            throw APIError.field(promptField, "is \(prompt.count) tokens; the context holds \(context), so at most \(context - 1)")
        }
        let room = context - prompt.count
        if let asked = parameters.maxTokens {
            guard asked <= room else {
                throw APIError.field(
                    "max_tokens", "is \(asked), but the \(prompt.count)-token prompt leaves \(room) of the context's \(context) positions")
            }
            maxTokens = asked
        } else {
            maxTokens = kind == .text ? min(16, room) : room
        }
    }

    func sampler() throws -> Sampler {
        // top_k 1 and temperature 0 are both greedy; the sampler takes them as they are.
        try Sampler(temperature: parameters.temperature, topK: parameters.topK, topP: parameters.topP, seed: parameters.seed)
    }
}

/// OpenAI's response and chunk objects for both endpoints.
private struct ResponseShape {
    let kind: Completion.Kind
    let id: String
    let created: Int
    let model: String

    /// A streamed chunk: a piece of text (or the chat role announcement, or the final chunk with
    /// the finish reason and usage). `tokens` (Molt's addition) holds the ids behind the text.
    func chunk(text: String?, ids: [Int] = [], role: Bool = false, finish: FinishReason? = nil, usage: JSON? = nil) -> JSON {
        var choice: [(String, JSON)] = [("index", 0)]
        switch kind {
        case .text: choice.append(("text", .string(text ?? "")))
        case .chat:
            var delta: [(String, JSON)] = []
            if role { delta.append(("role", "assistant")) }
            if let text { delta.append(("content", .string(text))) } else if role { delta.append(("content", "")) }
            choice.append(("delta", .object(delta)))
        }
        if !ids.isEmpty { choice.append(("tokens", JSON(ids))) }
        choice.append(("finish_reason", finish.map { .string($0.rawValue) } ?? .null))
        var object = header(kind == .text ? "text_completion" : "chat.completion.chunk")
        object.append(("choices", .array([.object(choice)])))
        if let usage { object.append(("usage", usage)) }
        return .object(object)
    }

    /// The whole answer of a request that did not stream.
    func whole(text: String, ids: [Int], finish: FinishReason, usage: JSON) -> JSON {
        var choice: [(String, JSON)] = [("index", 0)]
        switch kind {
        case .text: choice.append(("text", .string(text)))
        case .chat: choice.append(("message", .object([("role", "assistant"), ("content", .string(text))])))
        }
        choice += [("tokens", JSON(ids)), ("finish_reason", .string(finish.rawValue))]
        var object = header(kind == .text ? "text_completion" : "chat.completion")
        object += [("choices", .array([.object(choice)])), ("usage", usage)]
        return .object(object)
    }

    private func header(_ object: String) -> [(String, JSON)] {
        [("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model))]
    }
}

extension JSON {
    fileprivate var isTextOrIDs: Bool {
        switch self {
        case .string, .array: true
        default: false
        }
    }

    fileprivate var string: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }
}
