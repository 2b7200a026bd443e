import Foundation
import MoltRuntime
import MoltServer
import Testing

// The continuous-batching scheduler without HTTP: its streams against the runtime's own
// generation, joining, leaving and refusing.

// Serialized: every test runs the model on both cores, so running them side by side only
// stretches each past its client timeouts.
@Suite(.serialized) struct SchedulerTests {
    @Test func aLoneStreamIsTheRuntimesGreedyContinuation() async throws {
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 4)
        scheduler.start()
        defer { scheduler.shutdown() }
        let prompt = TrainedModel.prompts[0]
        let result = await collect(try scheduler.submit(GenerationRequest(prompt: prompt, maxTokens: 24)))
        #expect(result.tokens == (try TrainedModel.greedy(prompt, 24)))
        #expect(result.finish == .length)
    }

    @Test func nineConcurrentStreamsEachMatchTheirLoneRun() async throws {
        // Submitted together, the streams join the batch one prefill at a time and decode side by
        // side; each must still be exactly its own run alone (bit-equal logits under batching).
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 9)
        scheduler.start()
        defer { scheduler.shutdown() }
        let lengths = [40, 12, 33, 25, 8, 40, 17, 29, 36]
        let streams = try zip(TrainedModel.prompts, lengths).map { prompt, n in
            try scheduler.submit(GenerationRequest(prompt: prompt, maxTokens: n))
        }
        let results = await withTaskGroup(of: (Int, [Int]).self) { group in
            for (i, stream) in streams.enumerated() { group.addTask { (i, await collect(stream).tokens) } }
            var out = [[Int]](repeating: [], count: streams.count)
            for await (i, tokens) in group { out[i] = tokens }
            return out
        }
        for (i, (prompt, n)) in zip(TrainedModel.prompts, lengths).enumerated() {
            #expect(results[i] == (try TrainedModel.greedy(prompt, n)), "stream \(i)")
        }
    }

    @Test func aStreamJoiningMidwayWithAPromptLongerThanAChunkStaysExact() async throws {
        // The newcomer's prompt spans two of the runtime's prefill chunks, run between the first
        // stream's decode steps at the runtime's own boundaries: both stay bit for bit alone-exact.
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 2)
        scheduler.start()
        defer { scheduler.shutdown() }
        let first = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[1], maxTokens: 60))
        var iterator = first.events.makeAsyncIterator()
        var firstTokens: [Int] = []
        for _ in 0..<5 {
            if case .token(let id)? = await iterator.next() { firstTokens.append(id) }
        }
        let long = Array(repeating: TrainedModel.prompts.flatMap { $0 }, count: 12).flatMap { $0 }
        #expect(long.count > BlackMambaModel.prefillChunk)
        let second = await collect(try scheduler.submit(GenerationRequest(prompt: long, maxTokens: 10)))
        while let event = await iterator.next() {
            if case .token(let id) = event { firstTokens.append(id) }
        }
        #expect(firstTokens == (try TrainedModel.greedy(TrainedModel.prompts[1], 60)))
        #expect(second.tokens == (try TrainedModel.greedy(long, 10)))
    }

    @Test func aSmallPrefillChunkPrefillsInThosePieces() async throws {
        // With 7-position chunks the prompt is prefilled as the runtime would prefill those pieces
        // one after the other, whatever runs beside it.
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 3, prefillChunk: 7)
        scheduler.start()
        defer { scheduler.shutdown() }
        let prompt = TrainedModel.prompts.flatMap { $0 }
        let beside = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[0], maxTokens: 40))
        let result = await collect(try scheduler.submit(GenerationRequest(prompt: prompt, maxTokens: 12)))
        let model = TrainedModel.model, state = model.makeState()
        var logits: [Float] = []
        for start in stride(from: 0, to: prompt.count, by: 7) {
            logits = try model.prefill(Array(prompt[start..<min(start + 7, prompt.count)]), state: state, logits: .last)
        }
        var expected: [Int] = []
        var sampler = Sampler.greedy
        while true {
            expected.append(logits.withUnsafeBufferPointer { sampler.sample($0) })
            guard expected.count < 12 else { break }
            logits = try model.decode(expected.last!, state: state)
        }
        #expect(result.tokens == expected)
        #expect(await collect(beside).tokens == (try TrainedModel.greedy(TrainedModel.prompts[0], 40)))
    }

    @Test func sampledStreamsAreRepeatableUnderBatching() async throws {
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 4)
        scheduler.start()
        defer { scheduler.shutdown() }
        func request(_ seed: UInt64) throws -> GenerationRequest {
            GenerationRequest(prompt: TrainedModel.prompts[2], maxTokens: 20, sampler: try Sampler(temperature: 0.9, topK: 40, topP: 0.95, seed: seed))
        }
        let alone = await collect(try scheduler.submit(try request(7))).tokens
        let streams = try [7, 8, 7].map { try scheduler.submit(try request($0)) }
        var results: [[Int]] = []
        for stream in streams { results.append(await collect(stream).tokens) }
        var sampler = try Sampler(temperature: 0.9, topK: 40, topP: 0.95, seed: 7)
        let runtime = try TrainedModel.model.generate(prompt: TrainedModel.prompts[2], maxNewTokens: 20, sampler: &sampler)
        #expect(alone == runtime)
        #expect(results[0] == runtime)
        #expect(results[2] == runtime)
    }

    @Test func aCancelledStreamLeavesAndTheOthersGoOn() async throws {
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 2)
        scheduler.start()
        defer { scheduler.shutdown() }
        let doomed = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[3], maxTokens: 100_000))
        let other = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[4], maxTokens: 30))
        var iterator = doomed.events.makeAsyncIterator()
        var seen = 0
        while seen < 3, case .token? = await iterator.next() { seen += 1 }
        doomed.cancel()
        var finish: FinishReason?
        while let event = await iterator.next() {
            if case .finished(let reason) = event { finish = reason }
        }
        #expect(finish == .cancelled)
        #expect(await collect(other).tokens == (try TrainedModel.greedy(TrainedModel.prompts[4], 30)))
    }

    @Test func aFullQueueRefusesAndStopTokensEndAStream() async throws {
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 1, maxQueue: 1)
        scheduler.start()
        defer { scheduler.shutdown() }
        let running = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[0], maxTokens: 100_000))
        let queued = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[1], maxTokens: 5))
        #expect(throws: SchedulerRefusal.queueFull(limit: 1)) {
            try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[2], maxTokens: 5))
        }
        running.cancel()
        #expect(await collect(queued).tokens.count == 5)

        // The greedy path's third token, made a stop token, ends the stream before it is delivered.
        let expected = try TrainedModel.greedy(TrainedModel.prompts[5], 8)
        let stopped = await collect(try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[5], maxTokens: 8, stopTokens: [expected[2]])))
        #expect(stopped.tokens == Array(expected.prefix(2)))
        #expect(stopped.finish == .stop)
    }

    @Test func badPromptsAreRefusedAtSubmission() throws {
        let scheduler = try BatchScheduler(model: TrainedModel.model)
        #expect(throws: (any Error).self) { try scheduler.submit(GenerationRequest(prompt: [], maxTokens: 1)) }
        #expect(throws: (any Error).self) { try scheduler.submit(GenerationRequest(prompt: [1, TrainedModel.model.vocabRows], maxTokens: 1)) }
    }

    @Test func shutdownServesWhatWasAcceptedThenRefuses() async throws {
        let scheduler = try BatchScheduler(model: TrainedModel.model, maxBatch: 1)
        scheduler.start()
        let a = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[6], maxTokens: 12))
        let b = try scheduler.submit(GenerationRequest(prompt: TrainedModel.prompts[7], maxTokens: 12))
        scheduler.shutdown()
        #expect(throws: SchedulerRefusal.shuttingDown) { try scheduler.submit(GenerationRequest(prompt: [1], maxTokens: 1)) }
        #expect(await collect(a).tokens.count == 12)
        #expect(await collect(b).tokens.count == 12)
        await scheduler.waitUntilStopped()
    }
}
