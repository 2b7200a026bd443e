import Foundation
import Logging
import MoltCore
import MoltRuntime
import MoltTokenizer
import ServiceLifecycle

/// A model ready to serve: the weights, the tokenizer, and the scheduler running them.
public struct LoadedModel: Sendable {
    public let model: BlackMambaModel
    public let tokenizer: Tokenizer

    public init(model: BlackMambaModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }
}

struct Engine: Sendable {
    let model: BlackMambaModel
    let tokenizer: Tokenizer
    let scheduler: BatchScheduler
}

/// Loads and warms the model in the background while the HTTP server already answers (`/health`
/// says 503 until it is done), runs the scheduler, and on graceful shutdown lets it finish what
/// it accepted. As a service it is listed before the HTTP server, so a shutdown drains the
/// HTTP requests first and stops the scheduler after them.
final class EngineService: Service, @unchecked Sendable {
    private let load: @Sendable () throws -> LoadedModel
    private let configuration: ServerConfiguration
    private let metrics: ServerMetrics
    private let logger: Logger
    private let lock = NSLock()
    private var engine: Engine?

    init(configuration: ServerConfiguration, metrics: ServerMetrics, logger: Logger, load: @escaping @Sendable () throws -> LoadedModel) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.load = load
    }

    /// The engine once the model is loaded and warm.
    var ready: Engine? {
        lock.withLock { engine }
    }

    func run() async throws {
        let start = ContinuousClock.now
        let loaded = try await onOwnThread { [load] in
            let loaded = try load()
            // One prefill position and one decode step touch every Mamba weight, the
            // embedding and some experts, and start the kernels' threads.
            let (_, state) = try loaded.model.prefill([0], logits: .last)
            _ = try loaded.model.decode(0, state: state)
            return loaded
        }
        let scheduler = try BatchScheduler(
            model: loaded.model, maxBatch: configuration.maxBatch, maxQueue: configuration.maxQueue,
            prefillChunk: configuration.prefillChunk, observer: metrics)
        scheduler.start()
        lock.withLock { engine = Engine(model: loaded.model, tokenizer: loaded.tokenizer, scheduler: scheduler) }
        logger.info("model ready", metadata: ["seconds": "\(String(format: "%.2f", (ContinuousClock.now - start).seconds))"])

        // Until shutdown; then the scheduler serves what it accepted and stops.
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await scheduler.waitUntilStopped()
            } onCancel: {
                scheduler.cancelAll()
            }
        } onGracefulShutdown: {
            scheduler.shutdown()
        }
        logger.info("scheduler drained")
    }

    /// Runs blocking work (mapping and touching weights) off the concurrency pool's threads.
    private func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

}
