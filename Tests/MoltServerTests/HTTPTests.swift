import AsyncHTTPClient
import Foundation
import MoltCore
import MoltRuntime
import MoltServer
import NIOHTTP1
import Testing

// The server over real HTTP on an ephemeral loopback port, as stock clients talk to it.

// Serialized: every test runs the model on both cores, so running them side by side only
// stretches each past its client timeouts.
@Suite(.serialized) struct HTTPTests {
    @Test func routesAnswerInOpenAIsShapes() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let health = try await server.send(.GET, "/health")
        #expect(health.status == 200)

        let models = try await server.send(.GET, "/v1/models")
        #expect(models.status == 200)
        let card = models.json["data"]?.items.first
        #expect(card?["id"]?.text == "trained")
        #expect(card?["molt"]?["base_model"] == JSON.bool(true))
        #expect(card?["molt"]?["chat_template"]?.text?.contains("User:") == true)

        let tokens = try await server.post("/tokenize", .object([("content", "def fibonacci(n):")]))
        #expect(tokens.json["tokens"]?.ids == TrainedModel.tokenizer.encode("def fibonacci(n):"))
        let text = try await server.post("/detokenize", .object([("tokens", JSON(TrainedModel.tokenizer.encode("x = [1, 2]")))]))
        #expect(text.json["content"]?.text == "x = [1, 2]")

        let prompt = TrainedModel.prompts[0]
        let completion = try await server.post("/v1/completions", .object([
            ("prompt", "def fibonacci(n):"), ("max_tokens", 12), ("temperature", 0),
        ]))
        #expect(completion.status == 200, "\(completion.body)")
        let expected = untilEndOfText(try TrainedModel.greedy(prompt, 12))
        let choice = completion.json["choices"]?.items.first
        #expect(completion.json["object"]?.text == "text_completion")
        #expect(choice?["tokens"]?.ids == expected)
        #expect(choice?["text"]?.text == TrainedModel.tokenizer.decode(expected, skipSpecialTokens: true))
        #expect(choice?["finish_reason"]?.text == (expected.count == 12 ? "length" : "stop"))
        #expect(completion.json["usage"]?["prompt_tokens"]?.integer == prompt.count)
        #expect(completion.json["usage"]?["completion_tokens"]?.integer == expected.count)

        let chat = try await server.post("/v1/chat/completions", .object([
            ("messages", .array([.object([("role", "system"), ("content", "You write Python.")]), .object([("role", "user"), ("content", "Print hello.")])])),
            ("max_tokens", 8), ("temperature", 0),
        ]))
        #expect(chat.status == 200, "\(chat.body)")
        #expect(chat.json["object"]?.text == "chat.completion")
        #expect(chat.json["choices"]?.items.first?["message"]?["role"]?.text == "assistant")
        let rendered = "You write Python.\n\nUser: Print hello.\n\nAssistant:"
        #expect(chat.json["usage"]?["prompt_tokens"]?.integer == TrainedModel.tokenizer.encode(rendered).count)

        let metrics = try await server.send(.GET, "/metrics")
        #expect(metrics.status == 200)
        for name in [
            "molt_http_requests_total{route=\"/v1/completions\",status=\"200\"}", "molt_prompt_tokens_total", "molt_generated_tokens_total",
            "molt_time_to_first_token_seconds_bucket", "molt_inter_token_latency_seconds_bucket", "molt_queue_depth", "molt_batch_size",
        ] {
            #expect(metrics.body.contains(name), "\(name) missing from /metrics")
        }
    }

    @Test func streamedCompletionsArriveEventByEventAndMatchGenerate() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let prompt = TrainedModel.prompts[3]
        let expected = untilEndOfText(try TrainedModel.greedy(prompt, 20))
        let (status, events) = try await server.events("/v1/completions", .object([
            ("prompt", JSON(prompt)), ("max_tokens", 20), ("temperature", 0), ("stream", true),
        ]))
        #expect(status == 200)
        var tokens: [Int] = [], text = "", finals: [JSON] = [], done = false
        for try await event in events {
            #expect(!done, "an event after [DONE]")
            if event == "[DONE]" {
                done = true
                continue
            }
            let chunk = try JSONDecoder().decode(JSON.self, from: Data(event.utf8))
            #expect(chunk["object"]?.text == "text_completion")
            let choice = chunk["choices"]?.items.first
            tokens += choice?["tokens"]?.ids ?? []
            text += choice?["text"]?.text ?? ""
            if choice?["finish_reason"] != .null { finals.append(chunk) }
        }
        #expect(done)
        #expect(tokens == expected)
        #expect(text == TrainedModel.tokenizer.decode(expected, skipSpecialTokens: true))
        #expect(finals.count == 1)
        #expect(finals.first?["usage"]?["completion_tokens"]?.integer == expected.count)

        let (chatStatus, chatEvents) = try await server.events("/v1/chat/completions", .object([
            ("messages", .array([.object([("role", "user"), ("content", "Hi")])])), ("max_tokens", 6), ("stream", true), ("seed", 3),
        ]))
        #expect(chatStatus == 200)
        var chunks: [JSON] = []
        for try await event in chatEvents where event != "[DONE]" { chunks.append(try JSONDecoder().decode(JSON.self, from: Data(event.utf8))) }
        #expect(chunks.first?["choices"]?.items.first?["delta"]?["role"]?.text == "assistant")
        #expect(chunks.allSatisfy { $0["object"]?.text == "chat.completion.chunk" })
        #expect(chunks.last?["usage"]?["completion_tokens"] != nil)
    }

    @Test(arguments: Weights.allCases) func greedyStreamsJoiningAndLeavingEachMatchGenerate(_ weights: Weights) async throws {
        let loaded = weights.loaded
        let server = try await TestServer.start({ $0.maxBatch = 9 }, load: { loaded })
        defer { Task { await server.stop() } }
        let lengths = [30, 14, 26, 22, 9, 30, 18, 24, 28]
        let replies = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (i, (prompt, n)) in zip(TrainedModel.prompts, lengths).enumerated() {
                group.addTask { (i, try await server.greedy(prompt, n)) }
            }
            var out = [[Int]](repeating: [], count: lengths.count)
            for try await (i, tokens) in group { out[i] = tokens }
            return out
        }
        for (i, (prompt, n)) in zip(TrainedModel.prompts, lengths).enumerated() {
            #expect(replies[i] == untilEndOfText(try TrainedModel.greedy(prompt, n, on: loaded.model)), "\(weights) stream \(i)")
        }
    }

    @Test(arguments: Weights.allCases) func greedyIsGenerateAloneAndBesideEightRunningStreams(_ weights: Weights) async throws {
        let loaded = weights.loaded
        let server = try await TestServer.start({ $0.maxBatch = 9; $0.context = 1_000_000 }, load: { loaded })
        defer { Task { await server.stop() } }
        let checked = Array(TrainedModel.prompts.prefix(3)), n = 24
        let expected = try checked.map { untilEndOfText(try TrainedModel.greedy($0, n, on: loaded.model)) }
        for (prompt, tokens) in zip(checked, expected) {
            #expect(try await server.greedy(prompt, n) == tokens, "\(weights) alone")
        }
        // Eight sampled streams (so their rows pick assorted experts) that run all the while.
        var others: [AsyncThrowingStream<String, any Error>.AsyncIterator] = []
        for (i, prompt) in TrainedModel.prompts.suffix(8).enumerated() {
            let (_, events) = try await server.events("/v1/completions", .object([
                ("prompt", JSON(prompt)), ("max_tokens", 900_000), ("ignore_eos", true), ("stream", true), ("temperature", 1),
                ("seed", .int(i)),
            ]))
            var iterator = events.makeAsyncIterator()
            _ = try await iterator.next()
            others.append(iterator)
        }
        #expect(try await server.waitForMetric("molt_batch_size", "8.0"))
        for (prompt, tokens) in zip(checked, expected) {
            #expect(try await server.greedy(prompt, n) == tokens, "\(weights) beside eight streams")
        }
        #expect(try await server.metric("molt_batch_size") == 8, "the eight streams ended early")
        withExtendedLifetime(others) {}
    }

    @Test func badInputGetsItsStatusAndAMessageNamingTheField() async throws {
        let server = try await TestServer.start { $0.context = 64; $0.maxRequestBytes = 4096 }
        defer { Task { await server.stop() } }
        func expectError(_ reply: TestServer.Reply, _ status: Int, _ fragment: String, param: String? = nil) {
            #expect(reply.status == status, "\(reply.body)")
            #expect(reply.message.contains(fragment), "'\(reply.message)' lacks '\(fragment)'")
            if let param { #expect(reply.json["error"]?["param"]?.text == param) }
        }
        expectError(try await server.send(.POST, "/v1/completions", body: "{\"prompt\": \"x\", "), 400, "not valid JSON")
        expectError(try await server.send(.POST, "/v1/completions", body: "[1, 2]"), 400, "must be a JSON object")
        expectError(try await server.post("/v1/completions", .object([("max_tokens", 3)])), 400, "'prompt' is required", param: "prompt")
        expectError(try await server.post("/v1/completions", .object([("prompt", "a"), ("max_tokens", "many")])), 400, "must be an integer", param: "max_tokens")
        expectError(try await server.post("/v1/completions", .object([("prompt", "a"), ("temperature", -1)])), 400, "temperature", param: "temperature")
        expectError(try await server.post("/v1/completions", .object([("prompt", "a"), ("top_p", 0)])), 400, "top_p", param: "top_p")
        expectError(try await server.post("/v1/completions", .object([("prompt", "a"), ("stop", 5)])), 400, "stop", param: "stop")
        expectError(try await server.post("/v1/completions", .object([("prompt", "a"), ("n", 2)])), 400, "must be 1", param: "n")
        expectError(try await server.post("/v1/completions", .object([("prompt", "a"), ("stream", "yes")])), 400, "true or false", param: "stream")
        expectError(
            try await server.post("/v1/completions", .object([("prompt", JSON([1, 999_999]))])), 400, "token id 999999 at position 1",
            param: "prompt")
        expectError(try await server.post("/v1/completions", .object([("prompt", "")])), 400, "encodes to no tokens", param: "prompt")
        expectError(
            try await server.post("/v1/completions", .object([("prompt", JSON(Array(repeating: 5, count: 64)))])), 400, "at most 63",
            param: "prompt")
        expectError(
            try await server.post("/v1/completions", .object([("prompt", JSON([5, 6, 7, 8])), ("max_tokens", 61)])), 400, "leaves 60",
            param: "max_tokens")
        expectError(try await server.post("/v1/chat/completions", .object([("messages", .array([]))])), 400, "at least one", param: "messages")
        expectError(
            try await server.post("/v1/chat/completions", .object([("messages", .array([.object([("role", "robot"), ("content", "hi")])]))])),
            400, "must be one of", param: "messages[0].role")
        expectError(try await server.post("/detokenize", .object([("tokens", JSON([1, -4]))])), 400, "outside the vocabulary", param: "tokens")
        expectError(try await server.post("/tokenize", .object([("text", "hi")])), 400, "'content' is required", param: "content")
        let huge = JSON.object([("prompt", .string(String(repeating: "a", count: 10_000)))])
        expectError(try await server.post("/v1/completions", huge), 413, "larger than the server accepts")
        expectError(try await server.send(.GET, "/v2/everything"), 404, "no such route")
        expectError(try await server.send(.GET, "/v1/completions"), 404, "no such route")
        // The server is none the worse for all that.
        #expect(try await server.send(.GET, "/health").status == 200)
        #expect(try await server.post("/v1/completions", .object([("prompt", "x"), ("max_tokens", 2)])).status == 200)
    }

    @Test func aClientThatDisconnectsMidStreamEndsItsSequence() async throws {
        let server = try await TestServer.start { $0.context = 1_000_000 }
        defer { Task { await server.stop() } }
        let reader = Task {
            let (_, events) = try await server.events("/v1/completions", .object([
                ("prompt", JSON(TrainedModel.prompts[0])), ("max_tokens", 900_000), ("ignore_eos", true), ("stream", true),
            ]))
            var count = 0
            for try await _ in events {
                count += 1
                if count == 5 { break }
            }
        }
        _ = await reader.result
        // Only that sequence was running; the batch empties once the server notices the client left.
        #expect(try await server.waitForMetric("molt_batch_size", "0.0"))
        let before = try await server.metric("molt_generated_tokens_total")
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(try await server.metric("molt_generated_tokens_total") == before, "the sequence still runs")
        #expect(before < 100_000)
    }

    @Test func aClientThatLeavesBeforeItsWholeAnswerEndsItsSequence() async throws {
        let server = try await TestServer.start { $0.maxBatch = 1; $0.context = 1_000_000 }
        defer { Task { await server.stop() } }
        let long = JSON.object([("prompt", JSON(TrainedModel.prompts[0])), ("max_tokens", 900_000), ("ignore_eos", true)])
        let running = Task { try await server.post("/v1/completions", long) }
        #expect(try await server.waitForMetric("molt_batch_size", "1.0"))
        let waiting = Task { try await server.post("/v1/completions", long) }
        #expect(try await server.waitForMetric("molt_queue_depth", "1.0"))
        // Cancelling a request closes its connection: the waiting one leaves the queue, the
        // running one the batch.
        waiting.cancel()
        #expect(try await server.waitForMetric("molt_queue_depth", "0.0"))
        #expect(try await server.metric("molt_batch_size") == 1, "the running sequence ended with the waiting one")
        running.cancel()
        #expect(try await server.waitForMetric("molt_batch_size", "0.0"))
        let before = try await server.metric("molt_generated_tokens_total")
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(try await server.metric("molt_generated_tokens_total") == before, "the sequence still runs")
        #expect(try await server.waitForMetric(#"molt_http_requests_total{route="/v1/completions",status="499"}"#, "2"))
        // The server goes on answering whole requests.
        #expect(try await server.greedy(TrainedModel.prompts[1], 4) == untilEndOfText(try TrainedModel.greedy(TrainedModel.prompts[1], 4)))
    }

    @Test func aFullQueueIsAnswered429() async throws {
        let server = try await TestServer.start { $0.maxBatch = 1; $0.maxQueue = 1; $0.context = 1_000_000 }
        defer { Task { await server.stop() } }
        let long = JSON.object([("prompt", JSON(TrainedModel.prompts[0])), ("max_tokens", 900_000), ("ignore_eos", true), ("stream", true)])
        let (_, first) = try await server.events("/v1/completions", long)
        var firstEvents = first.makeAsyncIterator()
        _ = try await firstEvents.next()  // running
        // The waiting request's answer has not begun; it is seen in the queue depth instead.
        let second = Task { try await server.events("/v1/completions", long) }
        #expect(try await server.waitForMetric("molt_queue_depth", "1.0"))
        let third = try await server.post("/v1/completions", .object([("prompt", "x"), ("max_tokens", 1)]))
        #expect(third.status == 429)
        #expect(third.message.contains("busy"))
        #expect(third.json["error"]?["type"]?.text == "rate_limit_error")
        second.cancel()
        // Until here the first stream must stay connected: dropping it would free its place.
        withExtendedLifetime(firstEvents) {}
    }

    @Test func theAPIKeyIsRequiredAndCompared() async throws {
        let server = try await TestServer.start { $0.apiKey = "sekret-key" }
        defer { Task { await server.stop() } }
        let body = JSON.object([("prompt", "x"), ("max_tokens", 1)])
        let missing = try await server.post("/v1/completions", body)
        #expect(missing.status == 401)
        #expect(missing.message.contains("missing API key"))
        #expect(try await server.post("/v1/completions", body, headers: [("authorization", "Bearer sekret-kez")]).status == 401)
        #expect(try await server.post("/v1/completions", body, headers: [("authorization", "Bearer sekret-key-and-more")]).status == 401)
        #expect(try await server.post("/v1/completions", body, headers: [("authorization", "Bearer sekret-key")]).status == 200)
        #expect(try await server.send(.GET, "/v1/models").status == 401)
        #expect(try await server.send(.GET, "/health").status == 200)
    }

    @Test func healthIs503UntilTheModelIsLoaded() async throws {
        let gate = DispatchSemaphore(value: 0)
        let server = try await TestServer.start({ _ in }, ready: false) {
            gate.wait()
            return TrainedModel.loaded
        }
        defer { Task { await server.stop() } }
        let loading = try await server.send(.GET, "/health")
        #expect(loading.status == 503)
        #expect(loading.message.contains("loading"))
        #expect(try await server.post("/v1/completions", .object([("prompt", "x")])).status == 503)
        gate.signal()
        try await server.waitUntilReady()
        #expect(try await server.post("/v1/completions", .object([("prompt", "x"), ("max_tokens", 1)])).status == 200)
    }
}
