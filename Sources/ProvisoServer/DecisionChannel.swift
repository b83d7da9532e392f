import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Prometheus
import ProvisoCore

/// Hummingbird's HTTP/1.1 child channel with one handler more: `DecisionChannelHandler`, right
/// after NIO's HTTP/1 decoder, ahead of the conversion to `HTTPTypes` and of Swift concurrency.
/// The rest of the pipeline and the request loop are Hummingbird's own (`handleHTTP`), so every
/// other request is served exactly as by `.http1()`.
struct DecisionHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let endpoints: DecisionEndpoints
    let tokens: TokenCache
    let serverName: String

    func setup(channel: any NIOCore.Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            // As `HTTP1Channel` does: Hummingbird pipelines and handles errors itself; its limits.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            limits.maxHeaderFieldCount = 1000
            try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                 withOutboundHeaderValidation: false, withEncoderConfiguration: .init(),
                                                 withDecoderLimitConfiguration: limits)
            try sync.addHandler(DecisionChannelHandler(endpoints: endpoints, tokens: tokens, serverName: serverName))
            try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try sync.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

/// Answers `POST /v1/decisions` on the connection's event loop, inside the channel pipeline,
/// so the hottest request never crosses into Swift concurrency: a single decision costs
/// microseconds, and handing it from the event loop to a task and back cost more than the
/// decision itself.
///
/// It takes only the plain case — HTTP/1.1 keep-alive, an `application/json` body of at most
/// `maxBody` bytes, a bearer token the server verified within the token cache's lifetime that
/// holds `decisions:read`, a valid request — and answers it with the same bytes as the router
/// would (`DecisionEndpoints.answer`). Everything else (no or unknown credentials, a bad body,
/// `Connection: close`, an `Expect` header, any other route) is passed on unchanged to the router, which answers
/// it, errors included, exactly as it always has.
///
/// Responses leave in request order: while a request handed to the router has not been
/// answered, later requests on the connection go to the router too (HTTP/1.1 pipelining).
final class DecisionChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Largest single-decision body taken here; a larger one goes to the router (and its limit).
    static let maxBody = 16 << 10

    enum State {
        case idle
        /// A request this handler may answer, its body arriving.
        case collecting(HTTPRequestHead, ByteBuffer, started: ContinuousClock.Instant)
        /// A request the router answers, its parts being passed on.
        case passing
    }

    let endpoints: DecisionEndpoints
    let tokens: TokenCache
    let serverName: String
    var state = State.idle
    /// Requests handed to the router whose response has not ended yet.
    var routed = 0
    var needsFlush = false
    /// A shutdown request that arrived mid-request, passed on once it is answered.
    var heldQuiesce: Any?
    /// The `Authorization` value last verified on this connection, and until when the token
    /// cache vouches for it: a client sends the same header on every request.
    var verified: (header: String, until: Micros)?
    var dateSecond: Int64 = -1
    var date = ""
    var recorder: (Counter, DurationHistogram)?

    init(endpoints: DecisionEndpoints, tokens: TokenCache, serverName: String) {
        self.endpoints = endpoints
        self.tokens = tokens
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .idle:
            if case let .head(head) = part, routed == 0, isOurs(head) {
                state = .collecting(head, context.channel.allocator.buffer(capacity: 256), started: .now)
            } else {
                route(part, context: context)
            }
        case .collecting(let head, var body, let started):
            switch part {
            case let .body(chunk):
                state = .idle  // drop the enum's reference so the append does not copy
                guard body.readableBytes + chunk.readableBytes <= Self.maxBody else {
                    handOver(head, body, context: context)
                    route(part, context: context)
                    return
                }
                body.writeImmutableBuffer(chunk)
                state = .collecting(head, body, started: started)
            case .end:
                state = .idle
                guard case let .success(answer) = endpoints.answer(path: DecisionEndpoints.single, body: body) else {
                    handOver(head, body, context: context)
                    route(part, context: context)
                    return
                }
                respond(answer, started: started, context: context)
            case .head:
                // Not possible from the HTTP/1 decoder; pass both on and let the router object.
                state = .idle
                handOver(head, body, context: context)
                route(part, context: context)
            }
        case .passing:
            route(part, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Shutting down closes idle connections at once; one of ours is not idle until answered.
        if event is ChannelShouldQuiesceEvent, case .collecting = state {
            heldQuiesce = event
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Whether the request is one this handler answers, decided from its head alone.
    func isOurs(_ head: HTTPRequestHead) -> Bool {
        guard head.method == .POST, head.uri == DecisionEndpoints.single, head.version == .http1_1, head.isKeepAlive,
              !head.headers.contains(name: "expect") else { return false }
        if let type = head.headers.first(name: "content-type"), !Self.startsWith(type, "application/json") { return false }
        guard let authorization = head.headers.first(name: "authorization") else { return false }
        let now = endpoints.now()
        if let v = verified, v.until > now, v.header == authorization { return true }
        guard authorization.utf8.count > 7, Self.startsWith(authorization, "bearer ") else { return false }
        let secret = String(authorization.dropFirst(7))
        guard let hit = tokens.entry(TokenSecret.hash(secret), now: now), hit.token.scopes.contains(.decisionsRead) else { return false }
        verified = (authorization, hit.until)
        return true
    }

    /// ASCII case-insensitive prefix test, without building lowercased copies.
    static func startsWith(_ value: String, _ lowercasePrefix: StaticString) -> Bool {
        let p = UnsafeRawBufferPointer(start: lowercasePrefix.utf8Start, count: lowercasePrefix.utf8CodeUnitCount)
        var i = 0
        for byte in value.utf8 {
            guard i < p.count else { return true }
            let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            guard lower == p[i] else { return false }
            i += 1
        }
        return i == p.count
    }

    /// Passes one part on to the router, counting the requests it will answer.
    func route(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head: routed += 1; state = .passing
        case .end: state = .idle
        case .body: break
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// Gives a request this handler had started to collect to the router after all.
    func handOver(_ head: HTTPRequestHead, _ body: ByteBuffer, context: ChannelHandlerContext) {
        route(.head(head), context: context)
        if body.readableBytes > 0 { route(.body(body), context: context) }
        releaseQuiesce(context: context)
    }

    func respond(_ answer: ByteBuffer, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(answer.readableBytes)),
                                   ("date", currentDate()), ("server", serverName)])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(answer))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        needsFlush = true
        let (counter, histogram) = recorder ?? endpoints.metrics.recorder(route: DecisionEndpoints.single, method: "POST", status: 200)
        recorder = (counter, histogram)
        counter.increment()
        histogram.record(ContinuousClock.now - started)
        endpoints.metrics.answeredOnEventLoop.increment()
        releaseQuiesce(context: context)
    }

    func releaseQuiesce(context: ChannelHandlerContext) {
        guard let event = heldQuiesce else { return }
        heldQuiesce = nil
        context.fireUserInboundEventTriggered(event)
    }

    /// The `Date` header, formatted once a second per connection.
    func currentDate() -> String {
        let t = Time.now()
        let second = t / Time.microsPerSecond
        if second != dateSecond {
            dateSecond = second
            date = Time.formatHTTP(t)
        }
        return date
    }
}
