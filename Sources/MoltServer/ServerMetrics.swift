import Prometheus

/// The server's Prometheus metrics (served at `GET /metrics`), in a registry of its own so that
/// several servers in one process (the tests) keep separate counts.
public final class ServerMetrics: SchedulerObserver {
    public let registry = PrometheusCollectorRegistry()
    private let promptTokenCount: Counter
    private let generatedTokenCount: Counter
    private let queue: Gauge
    private let batch: Gauge
    private let timeToFirstToken: ValueHistogram
    private let interToken: ValueHistogram

    public init() {
        promptTokenCount = registry.makeCounter(descriptor: Self.name("prompt_tokens", "total", "Prompt tokens of accepted requests."))
        generatedTokenCount = registry.makeCounter(descriptor: Self.name("generated_tokens", "total", "Tokens generated."))
        queue = registry.makeGauge(descriptor: Self.name("queue_depth", "", "Requests waiting for a place in the batch."))
        batch = registry.makeGauge(descriptor: Self.name("batch_size", "", "Sequences in the running batch (the one being prefilled included)."))
        // From a few milliseconds (a small model's decode step) to a long prompt's prefill
        // behind a full queue.
        let latencies = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: Self.name("time_to_first_token", "seconds", "From a request's arrival to its first token."), buckets: latencies)
        interToken = registry.makeValueHistogram(
            descriptor: Self.name("inter_token_latency", "seconds", "Between two tokens of one sequence."), buckets: latencies)
    }

    /// Counts a finished HTTP request by route and status code.
    public func request(route: String, status: Int) {
        registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP requests answered, by route and status code."),
            labels: [("route", route), ("status", String(status))]
        ).increment()
    }

    /// The metrics in Prometheus' text exposition format.
    public func exposition() -> String {
        registry.emitToString()
    }

    public func queueDepth(_ waiting: Int) { queue.set(Double(waiting)) }
    public func batchSize(_ running: Int) { batch.set(Double(running)) }
    public func firstToken(after seconds: Double) { timeToFirstToken.record(seconds) }
    public func interTokenLatency(_ seconds: Double) { interToken.record(seconds) }
    public func promptTokens(_ count: Int) { promptTokenCount.increment(by: Int64(count)) }
    public func generatedTokens(_ count: Int) { generatedTokenCount.increment(by: Int64(count)) }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "molt", metricName: metric, unitName: unit, helpText: help)
    }
}
