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

/// A browser-like session for router tests: keeps cookies, posts forms.
struct Browser {
    var cookies: [String: String] = [:]

    mutating func absorb(_ r: TestResponse) {
        for c in r.headers[values: .setCookie] {
            let pair = c.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || c.contains("Max-Age=0") { cookies.removeValue(forKey: name) } else { cookies[name] = value }
        }
    }

    var cookieHeader: String { cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }

    mutating func get(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        let r = try await client.execute(uri: uri, method: .get, headers: cookies.isEmpty ? [:] : [.cookie: cookieHeader])
        absorb(r)
        return r
    }

    mutating func post(_ client: some TestClientProtocol, _ uri: String, form: [String: String]) async throws -> TestResponse {
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if !cookies.isEmpty { headers[.cookie] = cookieHeader }
        let r = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
        absorb(r)
        return r
    }
}

/// The value of a hidden form field named `name` in a page.
func field(_ html: String, _ name: String) -> String? {
    guard let r = html.range(of: #"name="\#(name)" value=""#) else { return nil }
    return String(html[r.upperBound...].prefix { $0 != "\"" })
}

extension Browser {
    /// Signs in through the login form.
    mutating func signIn(_ client: some TestClientProtocol, _ member: String, _ password: String) async throws -> TestResponse {
        let page = try await get(client, "/login")
        let token = field(String(buffer: page.body), "csrf") ?? ""
        return try await post(client, "/login", form: ["csrf": token, "member": member, "password": password])
    }
}

@Suite struct WebPagesTests {
    @Test func signedOutVisitorsAreSentToSignIn() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var b = Browser()
            let r = try await b.get(client, "/settings")
            #expect(r.status == .seeOther && r.headers[.location] == "/login")
            let login = try await b.get(client, "/login")
            #expect(login.status == .ok)
            let html = String(buffer: login.body)
            #expect(html.contains(#"<label for="member">"#) && html.contains(#"<label for="password">"#))
            #expect(login.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
        }
    }

    @Test func theSettingsPageShowsEverySwitchWhereMembersExpectItAndWhy() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var b = Browser()
            let signed = try await b.signIn(client, "eu", "correct horse")
            #expect(signed.status == .seeOther && signed.headers[.location] == "/settings")
            #expect(b.cookies["proviso_session"] != nil)
            let page = try await b.get(client, "/settings")
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            for text in ["Settings &amp; Privacy", "Data privacy", "Data for Generative AI Improvement",
                         "Use my data for training content creation AI models", "Advertising data", "Ads off LinkedIn",
                         "Data from others for ads", "Measure ad success", "Share data with affiliates and partners",
                         "Off since you turned it off on 1 Oct 2025", "Private messages are never used",
                         "training already done is not undone", "Not used in your region"] {
                #expect(html.contains(text), "missing: \(text)")
            }
            // Data privacy comes before Advertising data, as on the platform.
            let privacy = try #require(html.range(of: "Data privacy")), ads = try #require(html.range(of: "Advertising data"))
            #expect(privacy.lowerBound < ads.lowerBound)
        }
    }

    @Test func turningTheAISwitchBackOnIsSavedReceiptedAndEnforced() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var b = Browser()
            _ = try await b.signIn(client, "eu", "correct horse")
            let page = String(buffer: try await b.get(client, "/settings").body)
            let csrf = try #require(field(page, "csrf"))
            let r = try await b.post(client, "/settings/genai-improvement", form: ["csrf": csrf, "value": "on"])
            #expect(r.status == .seeOther)
            let location = try #require(r.headers[.location])
            #expect(location.hasPrefix("/settings?changed=genai-improvement&seq="))
            let after = String(buffer: try await b.get(client, String(location.prefix { $0 != "#" })).body)
            #expect(after.contains("is now on") && after.contains("On since you turned it on on 1 Jun 2026"))
            let decision = try await post(client, "/v1/decisions", token: f.reader, body: #"{"member":"eu","purpose":"genai-training","category":"profile"}"#)
            #expect(json(decision.body)["reasons"] as? [String] == ["member-choice"])
            let seq = String(location.split(separator: "=").last!.prefix { $0.isNumber })
            let receipt = try await b.get(client, "/receipts/\(seq).jws")
            #expect(receipt.status == .ok && receipt.headers[.contentDisposition]?.contains("attachment") == true)
            let keys = try await f.store.receiptKeys()
            let verified = try Receipt.verify(String(buffer: receipt.body), keys: keys)
            #expect(verified.member == "eu" && verified.on && verified.setting == .genaiImprovement && String(verified.seq) == seq)
            let history = String(buffer: try await b.get(client, "/history").body)
            #expect(history.contains("Data for Generative AI Improvement: on") && history.contains("You, on this site"))
            #expect(history.contains("1 Jun 2026, 00:00 UTC"))
            let receipts = String(buffer: try await b.get(client, "/receipts").body)
            #expect(receipts.contains("/receipts/\(seq).jws"))
        }
    }

    @Test func aFormWithoutTheSessionsCSRFTokenChangesNothing() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var b = Browser()
            _ = try await b.signIn(client, "eu", "correct horse")
            let head = try await f.store.head()
            let r = try await b.post(client, "/settings/genai-improvement", form: ["csrf": "forged", "value": "on"])
            #expect(r.status == .forbidden)
            #expect(r.headers[.contentType] == "text/html; charset=utf-8")
            #expect(try await f.store.head() == head)
        }
    }

    @Test func theLoginFormNeedsItsOwnToken() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var b = Browser()
            _ = try await b.get(client, "/login")
            let r = try await b.post(client, "/login", form: ["csrf": "guess", "member": "eu", "password": "correct horse"])
            #expect(r.status == .forbidden && b.cookies["proviso_session"] == nil)
            var c = Browser()
            let wrong = try await c.signIn(client, "eu", "nope")
            #expect(wrong.status == .unauthorized && String(buffer: wrong.body).contains("That member id or password is not right."))
        }
    }

    @Test func signingOutEndsTheSessionForThePagesToo() async throws {
        let f = Fixture()
        try await f.memberApp().test(.router) { client in
            var b = Browser()
            _ = try await b.signIn(client, "eu", "correct horse")
            let stolen = b.cookieHeader
            let csrf = try #require(field(String(buffer: try await b.get(client, "/settings").body), "csrf"))
            let out = try await b.post(client, "/logout", form: ["csrf": csrf])
            #expect(out.status == .seeOther && out.headers[.location] == "/login")
            let replay = try await client.execute(uri: "/settings", method: .get, headers: [.cookie: stolen])
            #expect(replay.status == .seeOther)
        }
    }

    @Test func memberDataIsEscapedInPages() async throws {
        let f = Fixture()
        let app = try await f.memberApp()
        _ = try await f.store.inner.append(WriteBatch(members: [Member(id: "eu", country: "DE", birthDay: Time.parseDate("1985-01-01")!,
                                                                       name: "<script>alert(1)</script>")], actor: "t", recordedAt: fixedNow))
        try await app.test(.router) { client in
            var b = Browser()
            _ = try await b.signIn(client, "eu", "correct horse")
            let html = String(buffer: try await b.get(client, "/settings").body)
            #expect(!html.contains("<script>alert(1)</script>"))
            #expect(html.contains("&lt;script&gt;"))
        }
    }
}
