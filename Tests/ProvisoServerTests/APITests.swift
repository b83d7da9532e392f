import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import ProvisoCore
import ProvisoServer
import ProvisoStore
import ProvisoTestStores


import Synchronization

let fixedNow = Time.parseRFC3339("2026-06-01T00:00:00Z")!

/// A server over a memory store with a few members, a choice, and tokens of each kind.
struct Fixture {
    let store = FlakyStore()
    let reader = "pvs_reader-secret"
    let gate = "pvs_gate-secret"
    let revoked = "pvs_revoked-secret"

    func app(maxBody: Int = 4 << 20, fast: Bool = true, metrics: ServerMetrics = ServerMetrics()) async throws -> some ApplicationProtocol {
        let service = try await loadService()
        return try buildApplication(service: service, configuration: ServerConfiguration(maxBodyBytes: maxBody, fastDecisions: fast),
                                    metrics: metrics, now: { fixedNow })
    }

    /// The fixture's members, choice and tokens, loaded into a consent service.
    func loadService() async throws -> ConsentService {
        let day = { (s: String) in Time.parseDate(s)! }
        _ = try await store.append(WriteBatch(
            members: [Member(id: "eu", country: "DE", birthDay: day("1985-01-01")), Member(id: "us", country: "US", birthDay: day("1985-01-01")),
                      Member(id: "kid", country: "US", birthDay: day("2012-01-01"))],
            events: [.choice(member: "eu", setting: .genaiImprovement, on: false, at: Time.parseRFC3339("2025-10-01T00:00:00Z")!,
                             channel: .web, actor: "member:eu", policyVersion: Policy.seed.version)],
            policy: .seed, actor: "test", recordedAt: fixedNow))
        try await store.createToken(ServiceToken(name: "reader", scopes: [.decisionsRead], createdAt: fixedNow), hash: TokenSecret.hash(reader))
        try await store.createToken(ServiceToken(name: "gate", scopes: [.gateRun], createdAt: fixedNow), hash: TokenSecret.hash(gate))
        try await store.createToken(ServiceToken(name: "old", scopes: [.decisionsRead], createdAt: fixedNow), hash: TokenSecret.hash(revoked))
        _ = try await store.revokeToken(name: "old", at: fixedNow)
        return try await ConsentService.load(store: store, policy: .seed)
    }
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
}

func post(_ client: some TestClientProtocol, _ uri: String, token: String?, body: String) async throws -> TestResponse {
    var headers: HTTPFields = [.contentType: "application/json"]
    if let token { headers[.authorization] = "Bearer \(token)" }
    return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
}

/// Every decision test runs against both the fast path and the generated OpenAPI handlers.
@Suite struct DecisionAPITests {
    @Test(arguments: [true, false])
    func aDecisionAnswersTheContract(fast: Bool) async throws {
        let f = Fixture()
        try await f.app(fast: fast).test(.router) { client in
            let r = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"eu","purpose":"genai-training","category":"profile"}"#)
            #expect(r.status == .ok)
            let body = json(r.body)
            #expect(body["allowed"] as? Bool == false)
            #expect(body["reasons"] as? [String] == ["opted-out"])
            #expect(body["policy_version"] as? String == "seed-2025-11-03")
            #expect(body["ledger_seq"] as? Int == 5)
            let us = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"us","purpose":"genai-training","category":"post","visibility":"public"}"#)
            #expect(json(us.body)["reasons"] as? [String] == ["default-on"])
            let unknown = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"ghost","purpose":"genai-inference","category":"selfie"}"#)
            #expect(unknown.status == .ok)
            #expect(json(unknown.body)["reasons"] as? [String] == ["unknown-member", "unknown-purpose", "unknown-category"])
            let asOf = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"eu","purpose":"genai-training","category":"profile","at":"2025-09-01T00:00:00Z"}"#)
            #expect(json(asOf.body)["reasons"] as? [String] == ["region-not-in-scope"])
        }
    }

    @Test(arguments: [true, false])
    func aBatchAnswersInOrder(fast: Bool) async throws {
        let f = Fixture()
        try await f.app(fast: fast).test(.router) { client in
            let r = try await post(client, "/v1/decisions/batch", token: f.reader, body: """
                {"requests":[{"member":"kid","purpose":"genai-training","category":"profile"},
                             {"member":"us","purpose":"affiliate-sharing","category":"profile","gpc":true},
                             {"member":"us","purpose":"ads-measurement","category":"activity","sensitive":true},
                             {"member":"us","purpose":"ads-measurement","category":"activity"}]}
                """)
            #expect(r.status == .ok)
            let decisions = json(r.body)["decisions"] as? [[String: Any]] ?? []
            #expect(decisions.map { $0["reasons"] as? [String] ?? [] } == [["minor"], ["gpc"], ["sensitive"], ["default-on"]])
        }
    }

    @Test(arguments: [
        (#"{"member":"us","purpose":"genai-training","category":"profile","sensitve":true}"#, "sensitve"),
        (#"{"member":"us","purpose":"genai-training""#, "not valid JSON"),
        (#"{"member":7,"purpose":"genai-training","category":"profile"}"#, "member"),
        (#"{"purpose":"genai-training","category":"profile"}"#, "member"),
        (#"{"member":"us","purpose":"genai-training","category":"profile","visibility":"friends"}"#, "visibility"),
        (#"{"member":"us","purpose":"genai-training","category":"profile","at":"yesterday"}"#, "RFC 3339"),
        (#"{"member":"us","purpose":"genai-training","category":"profile","sensitive":"yes"}"#, "sensitive"),
    ])
    func badRequestsAreProblemsThatSayWhy(_ body: String, _ mention: String) async throws {
        for fast in [true, false] {
            let f = Fixture()
            try await f.app(fast: fast).test(.router) { client in
                let r = try await post(client, "/v1/decisions", token: f.reader, body: body)
                #expect(r.status == .badRequest, "fast: \(fast)")
                #expect(r.headers[.contentType] == "application/problem+json")
                let problem = json(r.body)
                #expect(problem["status"] as? Int == 400)
                #expect((problem["detail"] as? String)?.contains(mention) == true, "fast: \(fast): \(problem)")
            }
        }
    }

    static let batchBodies = [
        #"{"requests":[{"member":"eu","purpose":"genai-training","category":"profile"},{"member":"us","purpose":"ads-offsite","category":"activity","gpc":true}]}"#,
        """
         { "requests" : [ { "member" : "us" , "purpose" : "genai-training" , "category" : "post" , "visibility" : "public" ,
           "at" : "2025-01-01T00:00:00Z" , "created_at" : null , "sensitive" : false , "gpc" : null } ,
           {"category":"comment","purpose":"genai-training","member":"kid","visibility":null,"sensitive":true},
           {"member":"ghost","purpose":"genai-inference","category":"selfie","at":"2026-01-01T10:00:00.5+02:00"},
           {"member":"","purpose":"","category":""} ] }
        """,
        #"{"requests":[{"member":"\u0065u","purpose":"genai-training","category":"profile"}]}"#,
        #"{"requests":[]}"#,
    ]

    @Test(arguments: batchBodies.indices)
    func theOnePassBatchAnswersExactlyLikeTheGenericPath(_ k: Int) async throws {
        var answers: [[String]] = []
        for fast in [true, false] {
            let f = Fixture()
            let described = try await f.app(fast: fast).test(.router) { client -> [String] in
                let r = try await post(client, "/v1/decisions/batch", token: f.reader, body: Self.batchBodies[k])
                #expect(r.status == .ok, "fast: \(fast) \(String(buffer: r.body))")
                let decisions = json(r.body)["decisions"] as? [[String: Any]] ?? []
                return decisions.map { "\($0["allowed"] ?? "") \($0["reasons"] ?? "") \($0["policy_version"] ?? "") \($0["ledger_seq"] ?? "")" }
            }
            answers.append(described)
        }
        #expect(answers.count == 2 && answers[0] == answers[1])
        #expect(answers[0].count == [2, 4, 1, 0][k])
    }

    @Test(arguments: [true, false])
    func aBadLineInABatchNamesItsIndex(fast: Bool) async throws {
        let f = Fixture()
        try await f.app(fast: fast).test(.router) { client in
            let r = try await post(client, "/v1/decisions/batch", token: f.reader,
                                   body: #"{"requests":[{"member":"us","purpose":"ads-offsite","category":"profile"},{"member":"us","purpose":"ads-offsite","category":"profile","at":"soon"}]}"#)
            #expect(r.status == .badRequest)
            #expect((json(r.body)["detail"] as? String)?.hasPrefix("requests[1]") == true)
        }
    }

    @Test(arguments: [true, false])
    func oversizedBodiesAndBatchesGet413(fast: Bool) async throws {
        let f = Fixture()
        try await f.app(maxBody: 1024, fast: fast).test(.router) { client in
            let big = #"{"requests":["# + Array(repeating: #"{"member":"us","purpose":"ads-offsite","category":"profile"}"#, count: 40).joined(separator: ",") + "]}"
            let r = try await post(client, "/v1/decisions/batch", token: f.reader, body: big)
            #expect(r.status == .contentTooLarge)
            #expect(r.headers[.contentType] == "application/problem+json")
        }
        let g = Fixture()
        try await g.app(fast: fast).test(.router) { client in
            let many = #"{"requests":["# + Array(repeating: #"{"member":"us","purpose":"ads-offsite","category":"profile"}"#, count: 10_001).joined(separator: ",") + "]}"
            let r = try await post(client, "/v1/decisions/batch", token: g.reader, body: many)
            #expect(r.status == .contentTooLarge)
            #expect((json(r.body)["detail"] as? String)?.contains("10,000") == true)
        }
    }
}

@Suite struct AuthorisationTests {
    /// (path, method, token kind, expected status): the whole matrix for the current endpoints.
    static let matrix: [(String, HTTPRequest.Method, String, HTTPResponse.Status)] = [
        ("/v1/decisions", .post, "none", .unauthorized),
        ("/v1/decisions", .post, "reader", .ok),
        ("/v1/decisions", .post, "gate", .forbidden),
        ("/v1/decisions", .post, "revoked", .unauthorized),
        ("/v1/decisions", .post, "garbage", .unauthorized),
        ("/v1/decisions/batch", .post, "none", .unauthorized),
        ("/v1/decisions/batch", .post, "reader", .ok),
        ("/v1/decisions/batch", .post, "gate", .forbidden),
        ("/v1/decisions/batch", .post, "revoked", .unauthorized),
        ("/v1/policies", .get, "none", .unauthorized),
        ("/v1/policies", .get, "gate", .ok),
        ("/v1/policies", .get, "reader", .ok),
        ("/healthz", .get, "none", .ok),
        ("/readyz", .get, "none", .ok),
    ]

    @Test(arguments: matrix.indices)
    func eachEndpointAdmitsExactlyTheRightCallers(_ row: Int) async throws {
        let (path, method, who, expected) = Self.matrix[row]
        let f = Fixture()
        let token: String? = switch who {
        case "reader": f.reader
        case "gate": f.gate
        case "revoked": f.revoked
        case "garbage": "pvs_not-a-real-token"
        default: nil
        }
        let body = path.hasSuffix("batch") ? #"{"requests":[{"member":"us","purpose":"ads-offsite","category":"profile"}]}"#
            : #"{"member":"us","purpose":"ads-offsite","category":"profile"}"#
        try await f.app().test(.router) { client in
            var headers: HTTPFields = [.contentType: "application/json"]
            if let token { headers[.authorization] = "Bearer \(token)" }
            let r = try await client.execute(uri: path, method: method, headers: headers, body: method == .post ? ByteBuffer(string: body) : nil)
            #expect(r.status == expected, "\(method) \(path) as \(who)")
            if expected == .unauthorized { #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true) }
            if expected.code >= 400 { #expect(r.headers[.contentType] == "application/problem+json") }
        }
    }

    @Test func aMalformedAuthorizationHeaderIsRefused() async throws {
        let f = Fixture()
        try await f.app().test(.router) { client in
            let r = try await client.execute(uri: "/v1/policies", method: .get, headers: [.authorization: "Basic dXNlcjpwYXNz"])
            #expect(r.status == .unauthorized)
        }
    }
}

@Suite struct OperationalEndpointTests {
    @Test func readinessFailsWhenTheStoreIsUnreachable() async throws {
        let f = Fixture()
        try await f.app().test(.router) { client in
            let ok = try await client.execute(uri: "/readyz", method: .get)
            #expect(ok.status == .ok)
            #expect(json(ok.body)["ledger_seq"] as? Int == 5)
            f.store.failing.store(true, ordering: .relaxed)
            let down = try await client.execute(uri: "/readyz", method: .get)
            #expect(down.status == .serviceUnavailable)
            #expect(down.headers[.contentType] == "application/problem+json")
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test func unknownRoutesArePagesForPeopleProblemsForTheAPIAndHiddenFromAnonymousCallers() async throws {
        let f = Fixture()
        try await f.app().test(.router) { client in
            let page = try await client.execute(uri: "/nothing-here", method: .get)
            #expect(page.status == .notFound)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(String(buffer: page.body).contains("There is no page at this address."))
            let anonymous = try await client.execute(uri: "/v1/nothing-here", method: .get)
            #expect(anonymous.status == .unauthorized)
            let known = try await client.execute(uri: "/v1/nothing-here", method: .get, headers: [.authorization: "Bearer \(f.reader)"])
            #expect(known.status == .notFound)
            #expect(known.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func metricsCountDecisionsByPurposeAndOutcomeAndRequestsByRoute() async throws {
        let f = Fixture()
        try await f.app().test(.router) { client in
            _ = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"eu","purpose":"genai-training","category":"profile"}"#)
            _ = try await post(client, "/v1/decisions/batch", token: f.reader, body: """
                {"requests":[{"member":"us","purpose":"genai-training","category":"profile"},{"member":"us","purpose":"nope","category":"profile"}]}
                """)
            _ = try await post(client, "/v1/decisions", token: nil, body: "{}")
            let r = try await client.execute(uri: "/metrics", method: .get)
            #expect(r.status == .ok)
            let text = String(buffer: r.body)
            #expect(text.contains(#"proviso_decisions_total{purpose="genai-training",outcome="deny"} 1"#), "\(text)")
            #expect(text.contains(#"proviso_decisions_total{purpose="genai-training",outcome="allow"} 1"#))
            #expect(text.contains(#"proviso_decisions_total{purpose="unknown",outcome="deny"} 1"#))
            #expect(text.contains(#"proviso_http_requests_total{route="/v1/decisions",method="POST",status="200"} 1"#))
            #expect(text.contains(#"proviso_http_requests_total{route="/v1/decisions",method="POST",status="401"} 1"#))
            #expect(text.contains("proviso_http_request_duration_seconds_bucket"))
        }
    }

    @Test func theReceiptKeysArePublishedAsAJWKS() async throws {
        let f = Fixture()
        try await f.app().test(.router) { client in
            let r = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType]?.hasPrefix("application/jwk-set+json") == true)
            let keys = try ReceiptKey.keys(fromJWKS: String(buffer: r.body))
            let stored = try await f.store.receiptKeys()
            #expect(keys.map(\.kid) == stored.map(\.kid) && !keys.isEmpty)
            #expect(!String(buffer: r.body).contains(Base64URL.encode(stored[0].privateKeyBytes!)))
        }
    }

    @Test func policiesListTheVersionInForce() async throws {
        let f = Fixture()
        try await f.app().test(.router) { client in
            let r = try await client.execute(uri: "/v1/policies", method: .get, headers: [.authorization: "Bearer \(f.reader)"])
            let active = json(r.body)["active"] as? [String: Any]
            #expect(active?["version"] as? String == Policy.seed.version)
            #expect(active?["digest"] as? String == Policy.seed.digest)
            #expect(active?["in_force"] as? Bool == true)
        }
    }
}
