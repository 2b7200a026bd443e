import AsyncHTTPClient
import Foundation
import Logging
import MoltCore
import MoltServer
import NIOCore
import NIOHTTP1

/// A client without a read timeout (a request may wait its turn behind others' generation) and
/// with a connection for each of the tests' concurrent streams.
let testClient: HTTPClient = {
    var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: nil))
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// A server on an ephemeral loopback port, run in this process, and a client for it.
struct TestServer {
    let port: Int
    let task: Task<Void, any Error>

    /// Returns once the server listens and (when `ready`) its model is loaded.
    static func start(
        _ configure: (inout ServerConfiguration) -> Void = { _ in }, ready: Bool = true,
        load: @escaping @Sendable () throws -> LoadedModel = { TrainedModel.loaded }
    ) async throws -> TestServer {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.modelName = "trained"
        configure(&configuration)
        var logger = Logger(label: "molt.test")
        logger.logLevel = .warning
        let inference = InferenceServer(configuration: configuration, logger: logger, load: load)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await inference.run(gracefulShutdownSignals: []) { announce.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw MoltError.badInput("the test server did not start") }
        let server = TestServer(port: port, task: task)
        if ready { try await server.waitUntilReady() }
        return server
    }

    /// Polls `/health` until it says 200.
    func waitUntilReady(seconds: Double = 300) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await send(.GET, "/health").status != 200 {
            guard Date() < deadline else { throw MoltError.badInput("the test server's model did not load") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    struct Reply {
        let status: Int
        let body: String
        var json: JSON { (try? JSONDecoder().decode(JSON.self, from: Data(body.utf8))) ?? .null }

        /// The error message of an OpenAI-shaped error body.
        var message: String {
            guard case .string(let text)? = json["error"]?["message"] else { return "" }
            return text
        }
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return request
    }

    func send(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> Reply {
        let response = try await testClient.execute(request(method, path, body: body, headers: headers), timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        return Reply(status: Int(response.status.code), body: String(buffer: bytes))
    }

    func post(_ path: String, _ body: JSON, headers: [(String, String)] = []) async throws -> Reply {
        try await send(.POST, path, body: body.serialized(), headers: headers)
    }

    /// The token ids of a greedy completion that does not stream ([-1] when the reply has none).
    func greedy(_ prompt: [Int], _ maxTokens: Int) async throws -> [Int] {
        let reply = try await post("/v1/completions", .object([("prompt", JSON(prompt)), ("max_tokens", .int(maxTokens)), ("temperature", 0)]))
        return reply.json["choices"]?.items.first?["tokens"]?.ids ?? [-1]
    }

    /// A streamed request's server-sent events, parsed one by one: each `data:` payload.
    func events(_ path: String, _ body: JSON) async throws -> (status: Int, events: AsyncThrowingStream<String, any Error>) {
        let response = try await testClient.execute(request(.POST, path, body: body.serialized()), timeout: .seconds(120))
        let stream = AsyncThrowingStream<String, any Error> { continuation in
            let reader = Task {
                var pending = ""
                do {
                    for try await buffer in response.body {
                        pending += String(buffer: buffer)
                        while let end = pending.range(of: "\n\n") {
                            let event = String(pending[..<end.lowerBound])
                            pending = String(pending[end.upperBound...])
                            guard event.hasPrefix("data: ") else { throw MoltError.badInput("not an SSE data event: \(event)") }
                            continuation.yield(String(event.dropFirst(6)))
                        }
                    }
                    if !pending.isEmpty { throw MoltError.badInput("a partial event at the end: \(pending)") }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
        return (Int(response.status.code), stream)
    }

    /// The value of an unlabelled sample in `/metrics`.
    func metric(_ name: String) async throws -> Double {
        let text = try await send(.GET, "/metrics").body
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            if let value = Double(line.dropFirst(name.count + 1)) { return value }
        }
        throw MoltError.badInput("no sample \(name) in /metrics")
    }

    /// Polls `/metrics` until the sample named `name` (with its labels, as printed) has `value`.
    func waitForMetric(_ name: String, _ value: String, seconds: Double = 120) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let text = try await send(.GET, "/metrics").body
            if text.split(separator: "\n").contains(where: { $0 == "\(name) \(value)" }) { return true }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }
}

extension JSON {
    /// Array items, or [] for anything else.
    var items: [JSON] {
        guard case .array(let items) = self else { return [] }
        return items
    }

    var text: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    var integer: Int? {
        guard case .int(let n) = self else { return nil }
        return n
    }

    var ids: [Int] { items.compactMap(\.integer) }
}

/// The two ways the tests' model is stored: the fixture's f32 weights, and converted to q4.
enum Weights: String, CaseIterable, Sendable {
    case f32, q4

    var loaded: LoadedModel { self == .f32 ? TrainedModel.loaded : TrainedModel.q4 }
}

/// The greedy continuation as a server reports it: it stops before the end-of-text token.
func untilEndOfText(_ tokens: [Int]) -> [Int] {
    guard let end = TrainedModel.tokenizer.endOfText, let at = tokens.firstIndex(of: end) else { return tokens }
    return Array(tokens[..<at])
}
