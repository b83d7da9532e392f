public import Prometheus
import Hummingbird
import ProvisoCore
import Synchronization

/// The server's metrics, on a registry the application owns (no process-wide bootstrap, so
/// every app and every test has its own): requests by route and status, latencies, and
/// decisions by purpose and outcome.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let decisionCounters: [Counter]
    let latency = Mutex<[String: DurationHistogram]>([:])
    let requests = Mutex<[String: Counter]>([:])
    let answeredOnEventLoop: Counter

    static let purposeLabels = Purpose.allCases.map(\.code) + ["unknown"]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var counters: [Counter] = []
        for purpose in Self.purposeLabels {
            for outcome in ["allow", "deny"] {
                counters.append(registry.makeCounter(
                    descriptor: MetricNameDescriptor(metricName: "proviso_decisions", unitName: "total", helpText: "Decisions by purpose and outcome."),
                    labels: [("purpose", purpose), ("outcome", outcome)]))
            }
        }
        decisionCounters = counters
        answeredOnEventLoop = registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: "proviso_decisions_on_event_loop", unitName: "total",
                                             helpText: "Single-decision requests answered on the event loop, before the router (the rest are counted by route)."))
    }

    /// Counts one decision.
    func decided(_ purpose: Purpose?, allowed: Bool) {
        let p = purpose.map { Int($0.rawValue) } ?? Purpose.allCases.count
        decisionCounters[p * 2 + (allowed ? 0 : 1)].increment()
    }

    /// Counts a batch: `counts[purpose * 2 + (allowed ? 0 : 1)]`, unknown purposes last.
    func decided(counts: [Int]) {
        for (k, n) in counts.enumerated() where n > 0 { decisionCounters[k].increment(by: Int64(n)) }
    }

    /// Counts one request and records its latency.
    func request(route: String, method: String, status: Int, nanoseconds: Int64) {
        let (counter, histogram) = recorder(route: route, method: method, status: status)
        counter.increment()
        histogram.recordNanoseconds(nanoseconds)
    }

    /// The request counter and latency histogram for one route, method and status, made on
    /// first use; a caller on a hot path keeps them instead of looking them up per request.
    func recorder(route: String, method: String, status: Int) -> (Counter, DurationHistogram) {
        let key = "\(method) \(route) \(status)"
        let counter = requests.withLock { table in
            if let c = table[key] { return c }
            let c = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: "proviso_http_requests", unitName: "total", helpText: "HTTP requests by route, method and status."),
                labels: [("route", route), ("method", method), ("status", String(status))])
            table[key] = c
            return c
        }
        let histogram = latency.withLock { table in
            if let h = table[route] { return h }
            let h = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(metricName: "proviso_http_request_duration", unitName: "seconds", helpText: "HTTP request latency by route."),
                labels: [("route", route)],
                buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                          .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2)])
            table[route] = h
            return h
        }
        return (counter, histogram)
    }

    /// The Prometheus text exposition.
    public func exposition() -> String { registry.emitToString() }
}

/// Outermost middleware: sees every final response, errors included (they are already
/// problem responses by then). Routes are labelled by their pattern, never by raw path.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let nanos = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                        status: response.status.code, nanoseconds: nanos)
        return response
    }
}
