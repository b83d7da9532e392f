import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import NIOCore
import Testing
import ProvisoCore
import ProvisoServer
import ProvisoStore
import ProvisoTestStores

/// Signs a member in through the API and returns the cookie header value and CSRF token.
func signIn(_ client: some TestClientProtocol, _ member: String, _ password: String) async throws -> (cookie: String, csrf: String)? {
    let r = try await post(client, "/v1/session", token: nil, body: #"{"member":"\#(member)","password":"\#(password)"}"#)
    guard r.status == .ok, let setCookie = r.headers[.setCookie], let csrf = json(r.body)["csrf_token"] as? String else { return nil }
    return (String(setCookie.split(separator: ";")[0]), csrf)
}

func send(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, cookie: String? = nil, csrf: String? = nil,
          token: String? = nil, body: String? = nil) async throws -> TestResponse {
    var headers: HTTPFields = [.contentType: "application/json"]
    if let cookie { headers[.cookie] = cookie }
    if let csrf { headers[HTTPField.Name("X-CSRF-Token")!] = csrf }
    if let token { headers[.authorization] = "Bearer \(token)" }
    return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
}

extension Fixture {
    /// The fixture with member passwords and an admin token.
    func memberApp() async throws -> some ApplicationProtocol {
        let app = try await self.app()
        try await store.setPasswordHash(member: "eu", hash: Bcrypt.hash("correct horse", cost: 4), at: fixedNow)
        try await store.setPasswordHash(member: "us", hash: Bcrypt.hash("battery staple", cost: 4), at: fixedNow)
        try await store.createToken(ServiceToken(name: "admin", scopes: [.membersAdmin], createdAt: fixedNow), hash: TokenSecret.hash(admin))
        return app
    }

    var admin: String { "pvs_admin-secret" }
}

@Suite struct SessionTests {
    @Test func signingInSetsAHardenedCookieAndRotatesItEachTime() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let r = try await post(client, "/v1/session", token: nil, body: #"{"member":"eu","password":"correct horse"}"#)
            #expect(r.status == .ok)
            let cookie = try #require(r.headers[.setCookie])
            #expect(cookie.hasPrefix("proviso_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
            #expect((json(r.body)["csrf_token"] as? String)?.count ?? 0 > 20)
            let first = try await signIn(client, "eu", "correct horse")
            let second = try await signIn(client, "eu", "correct horse")
            #expect(first != nil && second != nil && first?.cookie != second?.cookie && first?.csrf != second?.csrf)
        }
    }

    @Test func cookiesAreMarkedSecureWhenServedOverTLS() async throws {
        let f = Fixture()
        _ = try await f.memberApp()
        let service = try await ConsentService.load(store: f.store, policy: .seed)
        let app = try buildApplication(service: service, configuration: ServerConfiguration(secureCookies: true), now: { fixedNow })
        try await app.test(.router) { client in
            let api = try await post(client, "/v1/session", token: nil, body: #"{"member":"eu","password":"correct horse"}"#)
            #expect(api.headers[.setCookie]?.hasSuffix("; Secure") == true)
            let page = try await client.execute(uri: "/login", method: .get)
            #expect(page.headers[.setCookie]?.hasSuffix("; Secure") == true)
        }
    }

    @Test func membersMaySignInByHandle() async throws {
        let f = Fixture()
        let app = try await f.memberApp()
        _ = try await f.store.inner.append(WriteBatch(members: [Member(id: "h1", country: "GB", birthDay: 5000, handle: "hana")], actor: "t", recordedAt: fixedNow))
        try await f.store.setPasswordHash(member: "h1", hash: Bcrypt.hash("pw-hana", cost: 4), at: fixedNow)
        try await app.test(.router) { client in
            let s = try await signIn(client, "hana", "pw-hana")
            #expect(s != nil)
        }
    }

    @Test(arguments: [("eu", "wrong"), ("ghost", "correct horse"), ("kid", "anything")])
    func wrongCredentialsAreOneAndTheSame401(_ member: String, _ password: String) async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let r = try await post(client, "/v1/session", token: nil, body: #"{"member":"\#(member)","password":"\#(password)"}"#)
            #expect(r.status == .unauthorized)
            #expect(json(r.body)["detail"] as? String == "unknown member or wrong password")
            #expect(r.headers[.setCookie] == nil)
        }
    }

    @Test func repeatedWrongPasswordsAreThrottledEvenForTheRightOne() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            for _ in 0..<5 {
                let r = try await post(client, "/v1/session", token: nil, body: #"{"member":"eu","password":"guess"}"#)
                #expect(r.status == .unauthorized)
            }
            let blocked = try await post(client, "/v1/session", token: nil, body: #"{"member":"eu","password":"correct horse"}"#)
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.headers[.setCookie] == nil)
            // Other members are not affected.
            #expect(try await signIn(client, "us", "battery staple") != nil)
        }
    }

    @Test func signingOutEndsTheSession() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "eu", "correct horse"))
            #expect(try await send(client, .get, "/v1/members/eu/settings", cookie: s.cookie).status == .ok)
            let out = try await send(client, .delete, "/v1/session", cookie: s.cookie, csrf: s.csrf)
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await send(client, .get, "/v1/members/eu/settings", cookie: s.cookie).status == .unauthorized)
        }
    }
}

@Suite struct MemberAPITests {
    @Test func aMemberSeesTheirSettingsExplained() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "eu", "correct horse"))
            let r = try await send(client, .get, "/v1/members/eu/settings", cookie: s.cookie)
            #expect(r.status == .ok)
            let body = json(r.body)
            #expect(body["region"] as? String == "EEA")
            let settings = body["settings"] as? [[String: Any]] ?? []
            let ai = settings.first { $0["setting"] as? String == "genai-improvement" }
            #expect(ai?["value"] as? String == "off" && ai?["source"] as? String == "member-choice")
            #expect(ai?["explanation"] as? String == "Off since you turned it off on 1 Oct 2025")
            #expect(ai?["label"] as? String == "Data for Generative AI Improvement" && ai?["section"] as? String == "Data privacy")
            let share = settings.first { $0["setting"] as? String == "ads-share-affiliates" }
            #expect(share?["explanation"] as? String == "Not used in your region")
        }
    }

    @Test func aChangeIsRecordedReceiptedAndEnforcedAtOnce() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "us", "battery staple"))
            let before = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"us","purpose":"genai-training","category":"profile"}"#)
            #expect(json(before.body)["reasons"] as? [String] == ["default-on"])
            let r = try await send(client, .put, "/v1/members/us/settings/genai-improvement", cookie: s.cookie, csrf: s.csrf, body: #"{"value":"off"}"#)
            #expect(r.status == .ok)
            let body = json(r.body)
            let setting = body["setting"] as? [String: Any]
            #expect(setting?["value"] as? String == "off" && setting?["source"] as? String == "member-choice")
            let jws = try #require(body["receipt"] as? String)
            let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            let receipt = try Receipt.verify(jws, keys: ReceiptKey.keys(fromJWKS: String(buffer: jwks.body)))
            #expect(receipt.member == "us" && receipt.setting == .genaiImprovement && !receipt.on && receipt.channel == .web)
            #expect(receipt.seq == body["ledger_seq"] as? Int64 ?? Int64(body["ledger_seq"] as? Int ?? -1))
            #expect(receipt.eventHash == body["event_hash"] as? String)
            let after = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"us","purpose":"genai-training","category":"profile"}"#)
            #expect(json(after.body)["reasons"] as? [String] == ["opted-out"])
            let history = try await send(client, .get, "/v1/members/us/history", cookie: s.cookie)
            let events = json(history.body)["events"] as? [[String: Any]] ?? []
            let last = events.last
            #expect(last?["kind"] as? String == "setting-changed" && last?["actor"] as? String == "member:us" && last?["channel"] as? String == "web")
            #expect(last?["hash"] as? String == receipt.eventHash)
            let v = try await f.store.inner.verify()
            #expect(v.failure == nil)
        }
    }

    @Test(arguments: [nil, "wrong-token"])
    func aCookieChangeWithoutTheCSRFTokenChangesNothing(_ csrf: String?) async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "us", "battery staple"))
            let head = try await f.store.head()
            let r = try await send(client, .put, "/v1/members/us/settings/genai-improvement", cookie: s.cookie, csrf: csrf, body: #"{"value":"off"}"#)
            #expect(r.status == .forbidden)
            #expect((json(r.body)["detail"] as? String)?.contains("CSRF") == true)
            #expect(try await f.store.head() == head)
        }
    }

    @Test(arguments: [
        ("/v1/members/us/settings/ai-everything", #"{"value":"off"}"#, HTTPResponse.Status.unprocessableContent),
        ("/v1/members/us/settings/genai-improvement", #"{"value":"maybe"}"#, .badRequest),
        ("/v1/members/us/settings/genai-improvement", #"{"value":"off","extra":1}"#, .badRequest),
        ("/v1/members/ghost/settings/genai-improvement", #"{"value":"off"}"#, .notFound),
    ])
    func badChangesAreRefusedAndChangeNothing(_ uri: String, _ body: String, _ status: HTTPResponse.Status) async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let head = try await f.store.head()
            let r = try await send(client, .put, uri, token: f.admin, body: body)
            #expect(r.status == status)
            #expect(r.headers[.contentType] == "application/problem+json")
            #expect(try await f.store.head() == head)
        }
    }
}

@Suite struct MemberAuthorisationTests {
    enum Caller: String, CaseIterable, Sendable { case anonymous, owner, otherMember, admin, reader }

    static let operations: [(HTTPRequest.Method, String, String?)] = [
        (.get, "/v1/members/eu/settings", nil),
        (.put, "/v1/members/eu/settings/ads-measure-success", #"{"value":"off"}"#),
        (.get, "/v1/members/eu/history", nil),
    ]

    static func expected(_ caller: Caller) -> HTTPResponse.Status {
        switch caller {
        case .anonymous: .unauthorized
        case .owner, .admin: .ok
        case .otherMember, .reader: .forbidden
        }
    }

    @Test(arguments: Caller.allCases, operations.indices)
    func aMemberReachesOnlyTheirOwnDataAndServicesNeedMembersAdmin(_ caller: Caller, _ op: Int) async throws {
        let (method, uri, body) = Self.operations[op]
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var cookie: String?, csrf: String?, token: String?
            switch caller {
            case .anonymous: break
            case .owner: (cookie, csrf) = try #require(try await signIn(client, "eu", "correct horse"))
            case .otherMember: (cookie, csrf) = try #require(try await signIn(client, "us", "battery staple"))
            case .admin: token = f.admin
            case .reader: token = f.reader
            }
            let r = try await send(client, method, uri, cookie: cookie, csrf: csrf, token: token, body: body)
            #expect(r.status == Self.expected(caller), "\(caller) \(method) \(uri)")
        }
    }

    @Test func membersCannotUseServiceOperations() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "eu", "correct horse"))
            let r = try await send(client, .post, "/v1/decisions", cookie: s.cookie, csrf: s.csrf,
                                   body: #"{"member":"us","purpose":"genai-training","category":"profile"}"#)
            #expect(r.status == .forbidden)
        }
    }
}
