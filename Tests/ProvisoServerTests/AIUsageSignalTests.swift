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
    /// Handles and posts for the fixture's members: eva (eu, opted out), sam (us), kiddo (a minor).
    func profileApp() async throws -> some ApplicationProtocol {
        let app = try await memberApp()
        let day = { (s: String) in Time.parseDate(s)! }
        _ = try await store.append(WriteBatch(members: [
            Member(id: "eu", country: "DE", birthDay: day("1985-01-01"), handle: "eva", name: "Eva Example", headline: "Data engineer"),
            Member(id: "us", country: "US", birthDay: day("1985-01-01"), handle: "sam", name: "Sam Sample"),
            Member(id: "kid", country: "US", birthDay: day("2012-01-01"), handle: "kiddo", name: "Kid"),
        ], actor: "test", recordedAt: fixedNow))
        try await store.addPosts([
            Post(id: "1", memberID: "eu", text: "Public thoughts on consent", visibility: .public, createdAt: fixedNow - 10),
            Post(id: "2", memberID: "eu", text: "Only for my connections", visibility: .connections, createdAt: fixedNow - 5),
            Post(id: "3", memberID: "us", text: "Hello world", visibility: .public, createdAt: fixedNow - 1),
        ])
        return app
    }
}

@Suite struct AIUsageSignalTests {
    let contentUsage = HTTPField.Name("Content-Usage")!
    let tdm = HTTPField.Name("tdm-reservation")!

    @Test func anOptedOutMembersPublicPageReservesAITrainingInHeadersAndMarkup() async throws {
        let f = Fixture()
        try await f.profileApp().test(.router) { client in
            let r = try await client.execute(uri: "/in/eva", method: .get)
            #expect(r.status == .ok)
            #expect(r.headers[contentUsage] == "train-ai=n")
            #expect(r.headers[tdm] == "1")
            let html = String(buffer: r.body)
            #expect(html.contains(#"<meta name="tdm-reservation" content="1">"#))
            #expect(html.contains("Eva Example") && html.contains("Public thoughts on consent"))
            #expect(!html.contains("Only for my connections"), "only public posts are shown")
        }
    }

    @Test func aChangeOfTheSwitchChangesTheSignalsOnTheNextRequest() async throws {
        let f = Fixture()
        try await f.profileApp().test(.router) { client in
            let before = try await client.execute(uri: "/in/sam", method: .get)
            #expect(before.status == .ok)
            #expect(before.headers[contentUsage] == nil && before.headers[tdm] == nil)
            #expect(!String(buffer: before.body).contains("tdm-reservation"))
            let robotsBefore = String(buffer: try await client.execute(uri: "/robots.txt", method: .get).body)
            #expect(robotsBefore.contains("Content-Usage: /in/eva train-ai=n") && robotsBefore.contains("Content-Usage: /in/kiddo train-ai=n"))
            #expect(!robotsBefore.contains("/in/sam "))

            let off = try await send(client, .put, "/v1/members/us/settings/genai-improvement", token: f.admin, body: #"{"value":"off"}"#)
            #expect(off.status == .ok)
            let after = try await client.execute(uri: "/in/sam", method: .get)
            #expect(after.headers[contentUsage] == "train-ai=n" && after.headers[tdm] == "1")
            let robotsAfter = String(buffer: try await client.execute(uri: "/robots.txt", method: .get).body)
            #expect(robotsAfter.contains("Content-Usage: /in/sam train-ai=n"))
            let tdmrep = try JSONSerialization.jsonObject(with: Data(buffer: try await client.execute(uri: "/.well-known/tdmrep.json", method: .get).body)) as? [[String: Any]]
            #expect(Set(tdmrep?.compactMap { $0["location"] as? String } ?? []) == ["/in/eva", "/in/kiddo", "/in/sam"])
            #expect(tdmrep?.allSatisfy { $0["tdm-reservation"] as? Int == 1 } == true)
        }
    }

    @Test func anUnknownHandleIsNotFound() async throws {
        let f = Fixture()
        try await f.profileApp().test(.router) { client in
            let r = try await client.execute(uri: "/in/nobody", method: .get)
            #expect(r.status == .notFound)
        }
    }
}
