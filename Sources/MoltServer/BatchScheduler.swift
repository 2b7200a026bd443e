import Foundation
import MoltCore
import MoltRuntime

// Continuous batching (Formats/serve.md, "Scheduling"). One thread owns the model and loops:
// admit the next waiting request when the batch has room, run one prefill chunk of the request
// being admitted, then one decode step of every running sequence together
// (`BlackMambaModel.decode(_:states:)`, which reads each weight matrix once for the whole batch
// and groups the MoE rows by expert). A running stream therefore waits at most one prefill
// chunk between two of its tokens, and a sequence that finishes or is cancelled is out of the
// batch before the next step.

/// What a client asked for: a prompt of token ids and how to continue it.
public struct GenerationRequest: Sendable {
    public var prompt: [Int]
    public var maxTokens: Int
    public var sampler: Sampler
    /// Ids that end the sequence when chosen (the end-of-text token); they are not delivered.
    public var stopTokens: Set<Int>

    public init(prompt: [Int], maxTokens: Int, sampler: Sampler = .greedy, stopTokens: Set<Int> = []) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampler = sampler
        self.stopTokens = stopTokens
    }
}

/// Why a sequence ended, with OpenAI's names for the first two.
public enum FinishReason: String, Sendable {
    /// `maxTokens` tokens were generated.
    case length
    /// A stop token was chosen, or the consumer stopped it (`GenerationStream.stop()`).
    case stop
    /// The consumer cancelled it (`GenerationStream.cancel()`), or it went away.
    case cancelled
    /// The model failed; the message was logged.
    case failed
}

/// What a running sequence reports, in order: tokens, then exactly one `finished`.
public enum GenerationEvent: Sendable, Equatable {
    case token(Int)
    case finished(FinishReason)
}

/// Why a request was not accepted.
public enum SchedulerRefusal: Error, Sendable, Equatable {
    /// `maxQueue` requests already wait for a place in the batch.
    case queueFull(limit: Int)
    /// The scheduler is draining for shutdown.
    case shuttingDown
}

/// One accepted request: its events, and the way to end it early.
public final class GenerationStream: Sendable {
    public let events: AsyncStream<GenerationEvent>
    private let job: Job
    private let scheduler: BatchScheduler

    fileprivate init(job: Job, events: AsyncStream<GenerationEvent>, scheduler: BatchScheduler) {
        self.job = job
        self.events = events
        self.scheduler = scheduler
    }

    /// Takes the sequence out of the batch before its next step; it finishes with `.cancelled`.
    public func cancel() { scheduler.end(job, reason: .cancelled) }

    /// The same, finishing with `.stop`: the consumer found a stop string.
    public func stop() { scheduler.end(job, reason: .stop) }
}

/// Receives the scheduler's measurements (the server's Prometheus metrics).
public protocol SchedulerObserver: Sendable {
    func queueDepth(_ waiting: Int)
    func batchSize(_ running: Int)
    func firstToken(after seconds: Double)
    func interTokenLatency(_ seconds: Double)
    func promptTokens(_ count: Int)
    func generatedTokens(_ count: Int)
}

/// One request while the scheduler holds it. Fields under "loop" are touched only by the
/// scheduler's thread; `ending` only under the scheduler's lock.
private final class Job: @unchecked Sendable {
    let request: GenerationRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let submitted = ContinuousClock.now
    /// Set by `end`: the reason the sequence leaves at the next look.
    var ending: FinishReason?

    // loop
    var sampler: Sampler
    var state: DecodeState?
    var prefilled = 0
    var generated = 0
    /// The token chosen last, fed at the next decode step.
    var next = 0
    var lastTokenAt: ContinuousClock.Instant?

    init(request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.request = request
        self.continuation = continuation
        sampler = request.sampler
    }
}

/// Runs many generation requests on one model with continuous batching.
public final class BatchScheduler: @unchecked Sendable {
    public let model: BlackMambaModel
    /// Most sequences decoded together, the one being prefilled included.
    public let maxBatch: Int
    /// Most requests waiting for a place in the batch; more are refused.
    public let maxQueue: Int
    /// Prompt positions prefilled between two decode steps: the longest a running stream
    /// waits for a newcomer. The runtime's own chunk keeps every prompt's prefill bit for bit
    /// what `molt generate` computes; a smaller one shortens the wait but may round
    /// differently for prompts longer than it.
    public let prefillChunk: Int
    private let observer: (any SchedulerObserver)?

    private let condition = NSCondition()
    // under `condition`
    private var waiting: [Job] = []
    private var ended: [Job] = []
    private var accepting = true
    private var started = false
    private var stopped = false
    private var onStopped: [CheckedContinuation<Void, Never>] = []
    /// Set by `cancelAll`: the loop ends the sequences in the batch too.
    private var cancelling = false
    /// Sequences in the batch (running, or being prefilled): raised when one is admitted, lowered
    /// after the loop's turn in which some left.
    private var inBatch = 0

    // loop
    private var admitting: Job?
    private var running: [Job] = []

    public init(
        model: BlackMambaModel, maxBatch: Int = 8, maxQueue: Int = 64, prefillChunk: Int = BlackMambaModel.prefillChunk,
        observer: (any SchedulerObserver)? = nil
    ) throws {
        guard maxBatch >= 1 else { throw MoltError(.usage, "the batch must hold at least 1 sequence, not \(maxBatch)") }
        guard maxQueue >= 0 else { throw MoltError(.usage, "the queue limit must be 0 or more, not \(maxQueue)") }
        guard prefillChunk >= 1 else { throw MoltError(.usage, "a prefill chunk must be at least 1 position, not \(prefillChunk)") }
        self.model = model
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.prefillChunk = prefillChunk
        self.observer = observer
    }

    /// Starts the scheduler's thread; requests submitted before wait for it.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        let thread = Thread { [self] in loop() }
        thread.name = "molt-scheduler"
        thread.start()
    }

    /// Queues a request. The prompt must be valid for the model (`BlackMambaModel.validate`).
    public func submit(_ request: GenerationRequest) throws -> GenerationStream {
        try model.validate(tokens: request.prompt)
        guard request.maxTokens >= 0 else { throw MoltError(.usage, "cannot generate \(request.maxTokens) tokens") }
        let (events, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        let job = Job(request: request, continuation: continuation)
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw SchedulerRefusal.shuttingDown }
        // Requests the batch has room for are not queued, even while they wait a moment for the
        // loop to take them in.
        guard waiting.count < maxQueue + max(0, maxBatch - inBatch) else { throw SchedulerRefusal.queueFull(limit: maxQueue) }
        if request.maxTokens == 0 {
            continuation.yield(.finished(.length))
            continuation.finish()
            return GenerationStream(job: job, events: events, scheduler: self)
        }
        waiting.append(job)
        observer?.queueDepth(waiting.count)
        observer?.promptTokens(request.prompt.count)
        let stream = GenerationStream(job: job, events: events, scheduler: self)
        // A consumer that stops listening (its task cancelled, the stream dropped) ends it.
        continuation.onTermination = { [weak self, weak job] _ in
            if let self, let job { self.end(job, reason: .cancelled) }
        }
        condition.signal()
        return stream
    }

    /// Requests waiting for a place in the batch.
    public var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count
    }

    /// Stops accepting requests; the ones accepted run to their end, then the thread exits.
    public func shutdown() {
        condition.lock()
        accepting = false
        condition.signal()
        condition.unlock()
    }

    /// Stops accepting requests and ends every accepted one at once (`.cancelled`): for a
    /// shutdown that cannot wait.
    public func cancelAll() {
        condition.lock()
        accepting = false
        let queued = waiting
        waiting = []
        for job in queued { job.ending = .cancelled }
        cancelling = true
        condition.signal()
        condition.unlock()
        for job in queued { finish(job, .cancelled) }
    }

    /// Returns once the thread has served every accepted request and exited (after `shutdown`).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            condition.lock()
            if stopped || !started {
                condition.unlock()
                done.resume()
                return
            }
            onStopped.append(done)
            condition.unlock()
        }
    }

    fileprivate func end(_ job: Job, reason: FinishReason) {
        condition.lock()
        guard job.ending == nil else { return condition.unlock() }
        job.ending = reason
        guard let at = waiting.firstIndex(where: { $0 === job }) else {
            ended.append(job)
            condition.signal()
            return condition.unlock()
        }
        // Never started: it leaves the queue now. (Finished outside the lock: finishing calls
        // `onTermination`, which comes back here.)
        waiting.remove(at: at)
        observer?.queueDepth(waiting.count)
        condition.unlock()
        finish(job, reason)
    }

    // MARK: The loop

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty && ended.isEmpty && admitting == nil && running.isEmpty && accepting {
                condition.wait()
            }
            if cancelling {
                for job in running + [admitting].compactMap({ $0 }) where job.ending == nil {
                    job.ending = .cancelled
                    ended.append(job)
                }
            }
            let leaving = ended
            ended = []
            for job in leaving { job.continuation.onTermination = nil }
            if admitting == nil, running.count < maxBatch, !waiting.isEmpty {
                admitting = waiting.removeFirst()
                // Counted at once, so `submit` never sees room that was just taken.
                inBatch = running.count + 1
                observer?.queueDepth(waiting.count)
            }
            let idle = waiting.isEmpty && admitting == nil && running.isEmpty
            if idle && !accepting {
                stopped = true
                let resumes = onStopped
                onStopped = []
                condition.unlock()
                for job in leaving { finish(job, job.ending ?? .cancelled) }
                resumes.forEach { $0.resume() }
                return
            }
            condition.unlock()

            for job in leaving { drop(job) }
            if let job = admitting { prefillChunk(of: job) }
            if !running.isEmpty { decodeStep() }
            let size = running.count + (admitting == nil ? 0 : 1)
            condition.lock()
            inBatch = size
            condition.unlock()
            observer?.batchSize(size)
        }
    }

    /// Takes an ended job out of the batch and reports its end (a queued one was reported by `end`).
    private func drop(_ job: Job) {
        if admitting === job {
            admitting = nil
        } else if let at = running.firstIndex(where: { $0 === job }) {
            running.remove(at: at)
        } else {
            return  // already finished by the loop
        }
        finish(job, job.ending ?? .cancelled)
    }

    private func finish(_ job: Job, _ reason: FinishReason) {
        job.continuation.yield(.finished(reason))
        job.continuation.finish()
    }

    /// The next `prefillChunk` positions of the request being admitted; after its last one, its
    /// first token, and it joins the batch.
    private func prefillChunk(of job: Job) {
        let prompt = job.request.prompt
        let end = min(prompt.count, job.prefilled + prefillChunk)
        do {
            let state = job.state ?? model.makeState()
            job.state = state
            let logits = try model.prefill(Array(prompt[job.prefilled..<end]), state: state, logits: .last)
            job.prefilled = end
            guard end == prompt.count else { return }
            admitting = nil
            if deliver(choose(job, logits), to: job) { running.append(job) }
        } catch {
            admitting = nil
            fail([job], error)
        }
    }

    /// One decode step of every running sequence, then each one's next token.
    private func decodeStep() {
        let batch = running
        do {
            let logits = try model.decode(batch.map(\.next), states: batch.map { $0.state! })
            running = []
            for (job, row) in zip(batch, logits) where deliver(choose(job, row), to: job) {
                running.append(job)
            }
        } catch {
            running = []
            fail(batch, error)
        }
    }

    private func choose(_ job: Job, _ logits: [Float]) -> Int {
        logits.withUnsafeBufferPointer { job.sampler.sample($0) }
    }

    /// Hands `token` to the job's consumer, or ends the job; true while it goes on.
    private func deliver(_ token: Int, to job: Job) -> Bool {
        let now = ContinuousClock.now
        if job.request.stopTokens.contains(token) {
            finish(job, .stop)
            return false
        }
        if let last = job.lastTokenAt {
            observer?.interTokenLatency((now - last).seconds)
        } else {
            observer?.firstToken(after: (now - job.submitted).seconds)
        }
        job.lastTokenAt = now
        job.generated += 1
        job.next = token
        job.continuation.yield(.token(token))
        observer?.generatedTokens(1)
        if job.generated >= job.request.maxTokens {
            finish(job, .length)
            return false
        }
        return true
    }

    private func fail(_ jobs: [Job], _ error: any Error) {
        FileHandle.standardError.write(Data("molt serve: a batch step failed: \(error)\n".utf8))
        for job in jobs { finish(job, .failed) }
    }

}
