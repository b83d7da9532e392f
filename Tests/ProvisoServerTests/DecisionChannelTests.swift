import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing
import ProvisoCore
@testable import ProvisoServer
import ProvisoStore
import ProvisoTestStores

/// The channel handler that answers single decisions on the event loop: on its own in an
/// embedded channel (what it answers, what it hands to the router, and in which order), and
/// in a live server against the router's answers.
@Suite struct DecisionChannelTests {
    /// A handler in an embedded channel, with the fixture's reader token already verified.
    static func channel(_ f: Fixture, metrics: ServerMetrics = ServerMetrics()) async throws -> EmbeddedChannel {
        let service = try await f.loadService()
        let tokens = TokenCache()
        tokens.remember(TokenSecret.hash(f.reader), ServiceToken(name: "reader", scopes: [.decisionsRead], createdAt: fixedNow), now: fixedNow)
        tokens.remember(TokenSecret.hash(f.gate), ServiceToken(name: "gate", scopes: [.gateRun], createdAt: fixedNow), now: fixedNow)
        let endpoints = DecisionEndpoints(service: service, metrics: metrics, limit: 4 << 20, now: { fixedNow })
        return EmbeddedChannel(handler: DecisionChannelHandler(endpoints: endpoints, tokens: tokens, serverName: "proviso"))
    }

    static func head(token: String?, path: String = "/v1/decisions", connection: String? = nil,
                     version: HTTPVersion = .http1_1, expect: Bool = false) -> HTTPServerRequestPart {
        var headers = HTTPHeaders([("host", "localhost"), ("content-type", "application/json")])
        if expect { headers.add(name: "expect", value: "100-continue") }
        if let token { headers.add(name: "authorization", value: token.contains(" ") ? token : "Bearer \(token)") }
        if let connection { headers.add(name: "connection", value: connection) }
        return .head(HTTPRequestHead(version: version, method: .POST, uri: path, headers: headers))
    }

    static func send(_ channel: EmbeddedChannel, _ head: HTTPServerRequestPart, _ body: String) throws {
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body)))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    /// What the handler passed on to the router, as "head PATH", "body TEXT" and "end".
    static func routed(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case let .head(h): parts.append("head \(h.uri)")
            case let .body(b): parts.append("body \(String(buffer: b))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// The responses the handler wrote itself: (status, body).
    static func answered(_ channel: EmbeddedChannel) throws -> [(Int, String)] {
        var answers: [(Int, String)] = []
        var status = 0, body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case let .head(h): status = Int(h.status.code); body = ""
            case let .body(.byteBuffer(b)): body += String(buffer: b)
            case .body: Issue.record("a file region in a decision answer")
            case .end: answers.append((status, body))
            }
        }
        return answers
    }

    static let eu = #"{"member":"eu","purpose":"genai-training","category":"profile"}"#

    @Test func aValidRequestFromAVerifiedTokenIsAnsweredWithoutTheRouter() async throws {
        let metrics = ServerMetrics()
        let channel = try await Self.channel(Fixture(), metrics: metrics)
        try Self.send(channel, Self.head(token: Fixture().reader, connection: "keep-alive"), Self.eu)
        #expect(try Self.routed(channel) == [])
        let answers = try Self.answered(channel)
        #expect(answers.count == 1)
        #expect(answers.first?.0 == 200)
        #expect(answers.first?.1 == #"{"allowed":false,"reasons":["opted-out"],"policy_version":"seed-2025-11-03","ledger_seq":5}"#)
        #expect(metrics.exposition().contains("proviso_decisions_on_event_loop_total 1"))
        #expect(metrics.exposition().contains(#"proviso_decisions_total{purpose="genai-training",outcome="deny"} 1"#))
    }

    @Test func theResponseCarriesLengthTypeDateAndServer() async throws {
        let channel = try await Self.channel(Fixture())
        try Self.send(channel, Self.head(token: Fixture().reader), Self.eu)
        guard case let .head(head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { Issue.record("no response head"); return }
        #expect(head.version == .http1_1)
        #expect(head.headers["content-type"] == ["application/json"])
        #expect(head.headers["server"] == ["proviso"])
        #expect(head.headers.first(name: "date")?.hasSuffix(" GMT") == true)
        guard case let .body(.byteBuffer(body))? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { Issue.record("no body"); return }
        #expect(head.headers["content-length"] == [String(body.readableBytes)])
    }

    @Test(arguments: [
        ("no credentials", nil as String?, "/v1/decisions", nil as String?, eu),
        ("a token without decisions:read", "pvs_gate-secret", "/v1/decisions", nil, eu),
        ("a token not verified yet", "pvs_unknown", "/v1/decisions", nil, eu),
        ("another route", "pvs_reader-secret", "/v1/decisions/batch", nil, #"{"requests":[]}"#),
        ("a query string", "pvs_reader-secret", "/v1/decisions?x=1", nil, eu),
        ("Connection: close", "pvs_reader-secret", "/v1/decisions", "close", eu),
        ("an Authorization that is not Bearer", "Basic pvs_reader-secret", "/v1/decisions", nil, eu),
        ("a body that is not JSON", "pvs_reader-secret", "/v1/decisions", nil, "{nope"),
        ("an unknown field", "pvs_reader-secret", "/v1/decisions", nil, #"{"member":"eu","purpose":"genai-training","category":"profile","x":1}"#),
    ])
    func everythingButThePlainCaseGoesToTheRouterIntact(_ why: String, _ token: String?, _ path: String, _ connection: String?, _ body: String) async throws {
        let metrics = ServerMetrics()
        let channel = try await Self.channel(Fixture(), metrics: metrics)
        try Self.send(channel, Self.head(token: token, path: path, connection: connection), body)
        #expect(try Self.routed(channel) == ["head \(path)", "body \(body)", "end"], "\(why)")
        #expect(try Self.answered(channel).isEmpty, "\(why)")
        #expect(metrics.exposition().contains("proviso_decisions_on_event_loop_total 0"), "\(why)")
    }

    @Test func aConnectionStopsUsingATokenWhenTheCacheStopsVouchingForIt() async throws {
        let f = Fixture()
        let service = try await f.loadService()
        let clock = Atomic<Int64>(fixedNow)
        let tokens = TokenCache()
        tokens.remember(TokenSecret.hash(f.reader), ServiceToken(name: "reader", scopes: [.decisionsRead], createdAt: fixedNow), now: fixedNow)
        let endpoints = DecisionEndpoints(service: service, metrics: ServerMetrics(), limit: 4 << 20, now: { clock.load(ordering: .relaxed) })
        let channel = EmbeddedChannel(handler: DecisionChannelHandler(endpoints: endpoints, tokens: tokens, serverName: "proviso"))
        try Self.send(channel, Self.head(token: f.reader), Self.eu)
        #expect(try Self.answered(channel).map(\.0) == [200])
        // Past the cache's lifetime the token must be checked against the store again (it may
        // have been revoked), which is the router's job.
        clock.store(fixedNow + tokens.ttl, ordering: .relaxed)
        try Self.send(channel, Self.head(token: f.reader), Self.eu)
        #expect(try Self.routed(channel) == ["head /v1/decisions", "body \(Self.eu)", "end"])
        #expect(try Self.answered(channel).isEmpty)
    }

    @Test(arguments: [false, true])
    func http10AndExpectContinueAreLeftToTheRouter(expect: Bool) async throws {
        let channel = try await Self.channel(Fixture())
        let head = expect ? Self.head(token: Fixture().reader, expect: true)
                          : Self.head(token: Fixture().reader, connection: "keep-alive", version: .http1_0)
        try Self.send(channel, head, Self.eu)
        #expect(try Self.routed(channel) == ["head /v1/decisions", "body \(Self.eu)", "end"])
        #expect(try Self.answered(channel).isEmpty)
    }

    @Test func aBodyOverTheLimitIsHandedOverWhole() async throws {
        let channel = try await Self.channel(Fixture())
        try channel.writeInbound(Self.head(token: Fixture().reader))
        let chunk = String(repeating: " ", count: DecisionChannelHandler.maxBody / 2 + 1)
        for _ in 0..<3 { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: chunk))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let parts = try Self.routed(channel)
        #expect(parts.first == "head /v1/decisions")
        #expect(parts.last == "end")
        // The first chunk went on as collected, the later ones as they came: nothing lost.
        #expect(parts.dropFirst().dropLast().map { $0.count - 5 }.reduce(0, +) == chunk.count * 3)
        #expect(try Self.answered(channel).isEmpty)
    }

    @Test func pipelinedRequestsAreAnsweredInTheOrderTheyCame() async throws {
        let f = Fixture()
        let channel = try await Self.channel(f)
        // The first needs the router (no credentials); the two after it would be ours, but
        // answering them now would put their responses before the first's.
        try Self.send(channel, Self.head(token: nil), Self.eu)
        try Self.send(channel, Self.head(token: f.reader), Self.eu)
        #expect(try Self.routed(channel) == ["head /v1/decisions", "body \(Self.eu)", "end", "head /v1/decisions", "body \(Self.eu)", "end"])
        #expect(try Self.answered(channel).isEmpty)
        // The router answers both; from then on the handler answers again.
        for status in [HTTPResponseStatus.unauthorized, .ok] {
            try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status)))
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        }
        #expect(try Self.answered(channel).map(\.0) == [401, 200])
        try Self.send(channel, Self.head(token: f.reader), Self.eu)
        #expect(try Self.routed(channel) == [])
        #expect(try Self.answered(channel).map(\.0) == [200])
    }

    @Test func shutdownWaitsForARequestBeingRead() async throws {
        let channel = try await Self.channel(Fixture())
        let quiesce = EventCounter()
        try channel.pipeline.syncOperations.addHandler(quiesce)
        try channel.writeInbound(Self.head(token: Fixture().reader))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(quiesce.seen == 0)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: Self.eu)))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(quiesce.seen == 1)
        #expect(try Self.answered(channel).map(\.0) == [200])
    }

    /// Over a real connection: each request answers exactly as the generated handlers do, and
    /// the valid ones from a verified token never reach the router.
    @Test func aLiveServerAnswersLikeTheGeneratedHandlers() async throws {
        let bodies = [
            Self.eu,
            #"{"member":"us","purpose":"genai-training","category":"post","visibility":"public"}"#,
            #"{"member":"ghost","purpose":"genai-inference","category":"selfie"}"#,
            #"{"member":"eu","purpose":"genai-training","category":"profile","at":"2025-09-01T00:00:00Z"}"#,
            #"{"member":"kid","purpose":"ads-offsite","category":"activity","gpc":true}"#,
            #"{"member":"us","purpose":"genai-training","category":"profile","sensitive":"yes"}"#,
            "{",
        ]
        var answers: [[String]] = []
        for fast in [true, false] {
            let f = Fixture()
            let metrics = ServerMetrics()
            let described = try await f.app(fast: fast, metrics: metrics).test(.live) { client -> [String] in
                _ = try await post(client, "/v1/decisions", token: f.reader, body: Self.eu)  // verifies the token
                var out: [String] = []
                for body in bodies {
                    let r = try await post(client, "/v1/decisions", token: f.reader, body: body)
                    let j = json(r.body)
                    let media = r.headers[.contentType]?.split(separator: ";").first.map(String.init) ?? ""  // the generated path adds a charset
                    out.append("\(r.status.code) \(media) \(j["allowed"] ?? "") \(j["reasons"] ?? "") \(j["policy_version"] ?? "") \(j["ledger_seq"] ?? "") \(j["status"] ?? "")")
                }
                return out
            }
            let onLoop = metrics.exposition().contains("proviso_decisions_on_event_loop_total 5")
            #expect(onLoop == fast, "fast: \(fast)\n\(metrics.exposition())")
            answers.append(described)
        }
        #expect(answers[0] == answers[1])
        #expect(answers[0].first?.hasPrefix("200 application/json") == true && answers[0].first?.contains("opted-out") == true, "\(answers[0])")
        #expect(answers[0].suffix(2).allSatisfy { $0.hasPrefix("400 application/problem+json") })
    }
}

/// Counts shutdown requests that reach the end of the pipeline.
final class EventCounter: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    var seen = 0
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { seen += 1 }
        context.fireUserInboundEventTriggered(event)
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }
}
