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

let gpcHeader = HTTPField.Name("Sec-GPC")!

func get(_ client: some TestClientProtocol, _ uri: String, cookie: String?, gpc: String?) async throws -> TestResponse {
    var headers: HTTPFields = [:]
    if let cookie { headers[.cookie] = cookie }
    if let gpc { headers[gpcHeader] = gpc }
    return try await client.execute(uri: uri, method: .get, headers: headers)
}

@Suite struct GPCTests {
    func gpcEvents(_ f: Fixture, _ member: String) async throws -> [LedgerEvent] {
        try await f.store.events(member: member).filter { $0.kind == .settingChanged && $0.draft.channel == .gpc }
    }

    @Test func theSignalIsRecordedOnceAndTurnsOffWhatThePolicyNames() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "us", "battery staple"))
            let page = try await get(client, "/settings", cookie: s.cookie, gpc: "1")
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("Opt-out preference signal honored"))
            let recorded = try await gpcEvents(f, "us")
            #expect(recorded.map { $0.draft.setting } == [.adsOffPlatform, .adsShareAffiliates])
            #expect(recorded.allSatisfy { $0.draft.value == false })
            _ = try await get(client, "/settings", cookie: s.cookie, gpc: "1")
            _ = try await get(client, "/history", cookie: s.cookie, gpc: "1")
            #expect(try await gpcEvents(f, "us").count == 2, "the signal is recorded once")
            // Without the signal nothing turns back on, and decisions deny with `gpc`.
            _ = try await get(client, "/settings", cookie: s.cookie, gpc: nil)
            let d = json(try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"us","purpose":"ads-offsite","category":"profile"}"#).body)
            #expect(d["reasons"] as? [String] == ["gpc"])
        }
    }

    @Test func anExplicitChoiceAfterTheSignalStands() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "us", "battery staple"))
            _ = try await get(client, "/settings", cookie: s.cookie, gpc: "1")
            let on = try await send(client, .put, "/v1/members/us/settings/ads-off-platform", cookie: s.cookie, csrf: s.csrf, body: #"{"value":"on"}"#)
            #expect(on.status == .ok)
            _ = try await get(client, "/settings", cookie: s.cookie, gpc: "1")
            #expect(try await gpcEvents(f, "us").count == 2)
            let settings = json(try await send(client, .get, "/v1/members/us/settings", cookie: s.cookie).body)["settings"] as? [[String: Any]]
            #expect(settings?.first { $0["setting"] as? String == "ads-off-platform" }?["value"] as? String == "on")
        }
    }

    @Test(arguments: ["0", "true", "1, 1"])
    func anyValueButExactlyOneIsNoSignal(_ value: String) async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "us", "battery staple"))
            _ = try await get(client, "/settings", cookie: s.cookie, gpc: value)
            #expect(try await gpcEvents(f, "us").isEmpty)
        }
    }

    @Test func whereThePolicyDoesNotApplyGPCAndForAnonymousRequestsNothingIsRecorded() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            let s = try #require(try await signIn(client, "eu", "correct horse"))
            _ = try await get(client, "/settings", cookie: s.cookie, gpc: "1")
            #expect(try await gpcEvents(f, "eu").isEmpty)
            let anonymous = try await get(client, "/login", cookie: nil, gpc: "1")
            #expect(anonymous.status == .ok)
            let wellKnown = try await get(client, "/.well-known/gpc.json", cookie: nil, gpc: nil)
            #expect(json(wellKnown.body)["gpc"] as? Bool == true)
        }
    }
}
