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
    /// The member fixture plus one registered snapshot that took data of `eu` (who had opted
    /// out before the fixture's now), `us` and `kid` (a minor).
    func gateApp() async throws -> some ApplicationProtocol {
        let app = try await memberApp()
        let s = Snapshot(id: "snap-1", name: "model-7", purpose: "genai-training", asOf: fixedNow - 86_400_000_000, createdAt: fixedNow,
                         policyVersion: Policy.seed.version, ledgerSeq: 4, inputSHA256: String(repeating: "a", count: 64),
                         outputSHA256: String(repeating: "b", count: 64), read: 9, eligible: 6, excluded: 3, malformed: 0,
                         memberCount: 3, manifest: "{}")
        try await store.registerSnapshot(s, members: [
            SnapshotMember(memberID: "eu", counts: [CategoryCount(.profile, 1), CategoryCount(.post, 2)]),
            SnapshotMember(memberID: "kid", counts: [CategoryCount(.profile, 1)]),
            SnapshotMember(memberID: "us", counts: [CategoryCount(.activity, 2)]),
        ])
        return app
    }
}

@Suite struct GateAPITests {
    @Test func theRegistryListsSnapshotsForGateTokens() async throws {
        let f = Fixture()
        try await f.gateApp().test(.router) { client in
            let r = try await send(client, .get, "/v1/snapshots", token: f.gate)
            #expect(r.status == .ok)
            let list = try #require(json(r.body)["snapshots"] as? [[String: Any]])
            #expect(list.count == 1)
            #expect(list.first?["snapshot_id"] as? String == "snap-1")
            #expect((list.first?["counts"] as? [String: Int])?["eligible"] == 6)
        }
    }

    @Test func retractionsNameTheMembersNoLongerEligibleWithReasons() async throws {
        let f = Fixture()
        try await f.gateApp().test(.router) { client in
            let r = try await send(client, .get, "/v1/snapshots/snap-1/retractions", token: f.gate)
            #expect(r.status == .ok)
            let body = json(r.body)
            let list = try #require(body["retractions"] as? [[String: Any]])
            #expect(list.map { $0["member_id"] as? String } == ["eu", "kid"])
            #expect(list.first?["reasons"] as? [String] == ["opted-out"])
            #expect(list.first?["categories"] as? [String] == ["profile", "post"])
            #expect(list.last?["reasons"] as? [String] == ["minor"])
            #expect(body["at"] as? String == "2026-06-01T00:00:00Z")
            // Before eu's opt-out (2025-10-01) the reason was another: the EEA was not yet in scope.
            let early = try await send(client, .get, "/v1/snapshots/snap-1/retractions?at=2025-09-01T00:00:00Z", token: f.gate)
            let first = (json(early.body)["retractions"] as? [[String: Any]])?.first
            #expect(first?["member_id"] as? String == "eu")
            #expect(first?["reasons"] as? [String] == ["region-not-in-scope"])
        }
    }

    @Test func unknownSnapshotsAndBadTimesAreClearErrors() async throws {
        let f = Fixture()
        try await f.gateApp().test(.router) { client in
            let missing = try await send(client, .get, "/v1/snapshots/nope/retractions", token: f.gate)
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentType] == "application/problem+json")
            let bad = try await send(client, .get, "/v1/snapshots/snap-1/retractions?at=yesterday", token: f.gate)
            #expect(bad.status == .badRequest)
        }
    }

    @Test func aMemberSeesWhichSnapshotsUsedTheirData() async throws {
        let f = Fixture()
        try await f.gateApp().test(.router) { client in
            let s = try #require(try await signIn(client, "us", "battery staple"))
            let r = try await send(client, .get, "/v1/members/us/snapshots", cookie: s.cookie)
            #expect(r.status == .ok)
            let uses = try #require(json(r.body)["snapshots"] as? [[String: Any]])
            #expect(uses.count == 1)
            #expect(uses.first?["snapshot_id"] as? String == "snap-1")
            #expect(uses.first?["records"] as? Int == 2)
            #expect(uses.first?["counts"] as? [String: Int] == ["activity": 2])
        }
    }

    enum Caller: String, CaseIterable, Sendable { case anonymous, owner, otherMember, admin, reader, gate }

    static let operations: [(String, [Caller: HTTPResponse.Status])] = [
        ("/v1/snapshots", [.anonymous: .unauthorized, .owner: .forbidden, .otherMember: .forbidden, .admin: .forbidden, .reader: .forbidden, .gate: .ok]),
        ("/v1/snapshots/snap-1/retractions", [.anonymous: .unauthorized, .owner: .forbidden, .otherMember: .forbidden, .admin: .forbidden, .reader: .forbidden, .gate: .ok]),
        ("/v1/members/eu/snapshots", [.anonymous: .unauthorized, .owner: .ok, .otherMember: .forbidden, .admin: .ok, .reader: .forbidden, .gate: .forbidden]),
    ]

    @Test(arguments: Caller.allCases, operations.indices)
    func gateOperationsNeedGateRunAndAReportOnlyItsMember(_ caller: Caller, _ op: Int) async throws {
        let (uri, expected) = Self.operations[op]
        let f = Fixture()
        try await f.gateApp().test(.router) { client in
            var cookie: String?, token: String?
            switch caller {
            case .anonymous: break
            case .owner: cookie = try #require(try await signIn(client, "eu", "correct horse")).cookie
            case .otherMember: cookie = try #require(try await signIn(client, "us", "battery staple")).cookie
            case .admin: token = f.admin
            case .reader: token = f.reader
            case .gate: token = f.gate
            }
            let r = try await send(client, .get, uri, cookie: cookie, token: token)
            #expect(r.status == expected[caller], "\(caller) GET \(uri)")
        }
    }

    @Test func theDataUsePageShowsEachSnapshotAndWhetherTheDataIsToBeRemoved() async throws {
        let f = Fixture()
        try await f.gateApp().test(.router) { client in
            var browser = Browser()
            let signedIn = try await browser.signIn(client, "eu", "correct horse")
            #expect(signedIn.status == .seeOther)
            let page = try await browser.get(client, "/data-use")
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("How your data was used"))
            #expect(html.contains("snap-1"))
            #expect(html.contains("1 profile, 2 posts"))
            #expect(html.contains("You have since turned this off"))
        }
    }
}
