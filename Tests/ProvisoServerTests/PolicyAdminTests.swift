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

extension Fixture {
    var policyAdmin: String { "pvs_policy-secret" }

    func policyApp() async throws -> some ApplicationProtocol {
        let app = try await memberApp()
        try await store.createToken(ServiceToken(name: "policy", scopes: [.policyAdmin], createdAt: fixedNow), hash: TokenSecret.hash(policyAdmin))
        return app
    }
}

/// The seed, renamed, dated, and with its AI-training purpose no longer public-only (a widening).
func widenedSeed(version: String, effective: String) -> String {
    Policy.seed.source
        .replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "\#(version)", "effective_from": "\#(effective)""#)
        .replacingOccurrences(of: #""public_only": true"#, with: #""public_only": false"#)
}

@Suite struct PolicyAdminTests {
    @Test func aPublicationOneDayShortOfTheNoticeIsRefusedAndOneWithEnoughIsAccepted() async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            // fixedNow is 2026-06-01T00:00Z; 30 days' notice means 2026-07-01.
            let short = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: widenedSeed(version: "v2", effective: "2026-06-30"))
            #expect(short.status == .unprocessableContent)
            #expect(short.headers[.contentType] == "application/problem+json")
            let detail = json(short.body)["detail"] as? String ?? ""
            #expect(detail.contains("genai-training in EEA: public-only-dropped") && detail.contains("2026-07-01"), "\(detail)")
            #expect(try await f.store.publishedPolicies().isEmpty)

            let text = widenedSeed(version: "v2", effective: "2026-07-01")
            let ok = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: text)
            #expect(ok.status == .created)
            let body = json(ok.body)
            #expect(body["version"] as? String == "v2")
            #expect(body["effective_from"] as? String == "2026-07-01")
            #expect(body["digest"] as? String == (try Policy.parse(text)).digest, "the digest is of the bytes sent")
            #expect((body["widenings"] as? [[String: Any]])?.count == RegionGroup.allCases.count)

            let again = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: text)
            #expect(again.status == .conflict)

            let listed = json(try await send(client, .get, "/v1/policies", token: f.reader).body)
            #expect((listed["scheduled"] as? [[String: Any]])?.first?["version"] as? String == "v2")
        }
    }

    @Test func decisionsAfterTheEffectiveDateUseTheNewVersionAtOnce() async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            let ok = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: widenedSeed(version: "v2", effective: "2026-07-01"))
            #expect(ok.status == .created)
            let request = { (at: String) in #"{"member":"us","purpose":"genai-training","category":"comment","visibility":"connections","at":"\#(at)"}"# }
            let before = json(try await post(client, "/v1/decisions", token: f.reader, body: request("2026-06-15T00:00:00Z")).body)
            #expect(before["reasons"] as? [String] == ["not-public"])
            let after = json(try await post(client, "/v1/decisions", token: f.reader, body: request("2026-07-02T00:00:00Z")).body)
            #expect(after["allowed"] as? Bool == true)
            #expect(after["policy_version"] as? String == "v2")
        }
    }

    @Test(arguments: ["anonymous", "reader", "admin", "member"])
    func onlyPolicyAdminsMayPublish(_ caller: String) async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            var token: String?, cookie: String?, csrf: String?
            switch caller {
            case "reader": token = f.reader
            case "admin": token = f.admin
            case "member": (cookie, csrf) = try #require(try await signIn(client, "eu", "correct horse"))
            default: break
            }
            let r = try await send(client, .post, "/v1/policies", cookie: cookie, csrf: csrf, token: token,
                                   body: widenedSeed(version: "v2", effective: "2026-07-01"))
            #expect(r.status == (caller == "anonymous" ? .unauthorized : .forbidden))
            #expect(try await f.store.publishedPolicies().isEmpty)
        }
    }

    @Test func anInvalidPolicyIsRefusedNamingTheProblem() async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            let r = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: #"{"format":"proviso-policy/1"}"#)
            #expect(r.status == .unprocessableContent)
            #expect((json(r.body)["detail"] as? String ?? "").contains("version"))
            let garbage = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: "{nope")
            #expect(garbage.status == .unprocessableContent || garbage.status == .badRequest)
        }
    }
}
