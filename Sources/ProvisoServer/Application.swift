public import Hummingbird
import HummingbirdCore
import OpenAPIHummingbird
import OpenAPIRuntime
public import ProvisoCore

/// How the server listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Largest request body accepted; a batch of 10,000 decisions is well under 4 MiB.
    public var maxBodyBytes: Int
    /// How long a member stays signed in.
    public var sessionSeconds: Int64
    /// Serve the decision endpoints by the fast path (default). Off, the generated OpenAPI
    /// handlers answer them: the reference the fast path is tested against.
    public var fastDecisions: Bool
    /// Mark cookies `Secure` (browsers then send them over HTTPS only): on whenever members
    /// reach the server through TLS, off for the plain-HTTP loopback default.
    public var secureCookies: Bool
    /// Organisation views show a figure about a group only when it has at least k members.
    public var kAnonymity: KAnonymity

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 4 << 20, sessionSeconds: Int64 = 12 * 3600,
                fastDecisions: Bool = true, secureCookies: Bool = false, kAnonymity: KAnonymity = .standard) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.sessionSeconds = sessionSeconds
        self.fastDecisions = fastDecisions
        self.secureCookies = secureCookies
        self.kAnonymity = kAnonymity
    }
}

/// Composes the HTTP application: middleware (errors outermost, then body limit, then
/// auth) and the OpenAPI handlers. This is what `proviso serve` runs and what tests call.
public func buildApplication(service: ConsentService, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics(),
                             now: @escaping @Sendable () -> Micros = { Time.now() }) throws -> some ApplicationProtocol {
    let router = Router()
    let throttle = LoginThrottle()
    let pages = try WebPages(service: service, configuration: configuration, throttle: throttle, now: now)
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: ProblemMiddleware(pages: pages))
    router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes))
    let tokens = TokenCache()
    let decisions = DecisionEndpoints(service: service, metrics: metrics, limit: configuration.maxBodyBytes, now: now)
    router.add(middleware: AuthMiddleware(store: service.store, now: now, tokens: tokens))
    router.add(middleware: GPCMiddleware(service: service, now: now))
    router.get("/.well-known/gpc.json") { _, _ in gpcWellKnown() }
    router.add(middleware: PolicyPublishMiddleware(service: service, limit: configuration.maxBodyBytes, now: now))
    if configuration.fastDecisions {
        router.add(middleware: FastDecisionsMiddleware(endpoints: decisions))
    }
    // Compact JSON: pipelines parse it, and pretty-printing costs time on every answer.
    try APIHandlers(service: service, metrics: metrics, configuration: configuration, throttle: throttle, now: now).registerHandlers(on: router, configuration: .init(jsonEncodingOptions: [.withoutEscapingSlashes]))
    pages.addRoutes(to: router)
    // Single decisions from an already verified token are answered on the event loop, before
    // the request enters Swift concurrency; everything else goes on to the router.
    let server: HTTPServerBuilder = configuration.fastDecisions
        ? HTTPServerBuilder { responder in DecisionHTTP1Channel(responder: responder, endpoints: decisions, tokens: tokens, serverName: "proviso") }
        : .http1()
    return Application(router: router, server: server,
                       configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "proviso"))
}
