import Foundation
import Hummingbird
import Logging
import MoltRuntime
import ServiceLifecycle
import UnixSignals

/// How `molt serve` is set up (Formats/serve.md, "Limits").
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); `onRunning` is told which.
    public var port = 8080
    public var maxBatch = 8
    public var maxQueue = 64
    /// Most positions of one sequence: prompt plus generated tokens.
    public var context = 4096
    /// When set, every route but `/health` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// Largest request body read; a larger one is answered 413.
    public var maxRequestBytes = 1 << 20
    public var prefillChunk = BlackMambaModel.prefillChunk
    /// The model's id in responses and `/v1/models`.
    public var modelName = "molt"

    public init() {}
}

/// The OpenAI-compatible HTTP server over a continuously batched model.
public struct InferenceServer: Sendable {
    public let configuration: ServerConfiguration
    public let metrics = ServerMetrics()
    private let load: @Sendable () throws -> LoadedModel
    private let logger: Logger

    /// `load` maps the model; it runs on its own thread once the server listens.
    public init(configuration: ServerConfiguration, logger: Logger, load: @escaping @Sendable () throws -> LoadedModel) {
        self.configuration = configuration
        self.logger = logger
        self.load = load
    }

    /// Serves until SIGINT or SIGTERM (when `signals`) or until the task is cancelled; then stops
    /// accepting connections, lets the requests in flight finish, and returns. Throws when the
    /// model fails to load or the address cannot be bound.
    public func run(
        gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint], onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) async throws {
        let engine = EngineService(configuration: configuration, metrics: metrics, logger: logger, load: load)
        let routes = Routes(configuration: configuration, engine: engine, metrics: metrics)
        let router = Router()
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        routes.register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "molt"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        // Shut down in reverse: the HTTP server drains its requests, then the scheduler stops.
        let group = ServiceGroup(
            configuration: .init(services: [engine, app], gracefulShutdownSignals: signals, logger: logger))
        try await group.run()
    }
}

/// Answers every error in OpenAI's JSON shape and counts every response by route and status.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status == .internalServerError { context.logger.error("\(request.method) \(request.uri.path): \(error)") }
            response = try apiError.response(from: request, context: context)
        }
        // Unmatched paths share one label, so clients cannot grow the metrics without bound.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.request(route: route, status: response.status.code)
        return response
    }
}

/// Refuses requests without the API key (401), comparing in time that does not depend on where
/// a wrong key differs. `/health` stays open for load balancers' probes.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]

    init(key: String) {
        self.key = Array(key.utf8)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path != "/health" else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix) else {
            throw APIError(.unauthorized, "missing API key: send 'Authorization: Bearer KEY'")
        }
        guard Self.equal(Array(header.utf8.dropFirst(prefix.utf8.count)), key) else {
            throw APIError(.unauthorized, "wrong API key")
        }
        return try await next(request, context)
    }

    /// Compares every byte of `expected` whatever `given` holds, so the time taken tells nothing
    /// about how much of a guess was right.
    static func equal(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in expected.indices {
            difference |= expected[i] ^ (i < given.count ? given[i] : 0)
        }
        return difference == 0
    }
}
