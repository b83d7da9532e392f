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

extension Fixture {
    var reports: String { "pvs_reports-secret" }

    /// The member fixture plus Northwind: `eu` is its admin, `us` and `staff` workers are
    /// affiliated, `officer` has the compliance role.
    func orgApp(staff: Int) async throws -> some ApplicationProtocol {
        let day = Time.parseDate("1980-01-01")!
        _ = try await store.append(WriteBatch(
            members: (0..<staff).map { Member(id: "worker-\($0)", country: "GB", birthDay: day) } + [Member(id: "officer", country: "IE", birthDay: day)],
            events: (0..<staff).filter { $0 % 3 == 0 }.map {
                .choice(member: "worker-\($0)", setting: .genaiImprovement, on: false, at: fixedNow - 1, channel: .web, actor: "member:worker-\($0)",
                        policyVersion: Policy.seed.version)
            },
            policy: .seed, actor: "test", recordedAt: fixedNow - 1))
        try await store.createOrganisation(Organisation(id: "northwind", name: "Northwind", createdAt: fixedNow))
        try await store.createOrganisation(Organisation(id: "contoso", name: "Contoso", createdAt: fixedNow))
        for k in 0..<staff { try await store.setAffiliation(member: "worker-\(k)", org: "northwind", at: fixedNow) }
        if staff > 0 { try await store.setProfileField(member: "worker-0", ProfileField(kind: .manager, value: "Dana", visibility: .public), at: fixedNow) }
        let app = try await memberApp()
        try await store.setAffiliation(member: "us", org: "northwind", at: fixedNow)
        try await store.addOrgAdmin(org: "northwind", member: "eu", at: fixedNow)
        try await store.setPasswordHash(member: "officer", hash: Bcrypt.hash("officer pass", cost: 4), at: fixedNow)
        try await store.grantRole(.compliance, member: "officer", at: fixedNow)
        try await store.createToken(ServiceToken(name: "reports", scopes: [.reportsRead], createdAt: fixedNow), hash: TokenSecret.hash(reports))
        return app
    }
}

@Suite struct OrganisationTests {
    enum Caller: String, CaseIterable { case anonymous, admin, worker, officer, reader, membersAdmin, reports }

    static let matrix: [(method: HTTPRequest.Method, uri: String, body: String?, allowed: [Caller: HTTPResponse.Status])] = [
        (.get, "/v1/orgs/northwind/dashboard", nil, [.admin: .ok]),
        (.post, "/v1/orgs/northwind/campaigns", #"{"message":"Please review your settings"}"#, [.admin: .created]),
        (.post, "/v1/orgs/northwind/policies", ##"{"markdown":"# Be careful"}"##, [.admin: .created]),
        (.post, "/v1/orgs/northwind/admins", #"{"member":"us"}"#, [.membersAdmin: .noContent]),
        (.get, "/v1/reports/compliance", nil, [.officer: .ok, .reports: .ok]),
        (.get, "/v1/members/us/settings", nil, [.worker: .ok, .membersAdmin: .ok]),
        (.get, "/v1/members/us/history", nil, [.worker: .ok, .membersAdmin: .ok]),
        (.get, "/v1/members/us/exposure", nil, [.worker: .ok, .membersAdmin: .ok]),
        (.put, "/v1/members/us/settings/genai-improvement", #"{"value":"off"}"#, [.worker: .ok, .membersAdmin: .ok]),
    ]

    /// Every organisation and report endpoint, and a member's own data, against every kind of
    /// caller: an organisation admin reaches the aggregates of their organisation and nothing of a
    /// member's; anyone not listed gets 401 (no credentials) or 403.
    @Test(arguments: 0..<matrix.count)
    func eachEndpointAdmitsExactlyTheRightCallers(_ row: Int) async throws {
        let (method, uri, body, allowed) = Self.matrix[row]
        for caller in Caller.allCases {
            let f = Fixture()
            try await f.orgApp(staff: 3).test(.router) { client in
                var cookie: String?, csrf: String?, token: String?
                switch caller {
                case .anonymous: break
                case .admin: (cookie, csrf) = try #require(try await signIn(client, "eu", "correct horse"))
                case .worker: (cookie, csrf) = try #require(try await signIn(client, "us", "battery staple"))
                case .officer: (cookie, csrf) = try #require(try await signIn(client, "officer", "officer pass"))
                case .reader: token = f.reader
                case .membersAdmin: token = f.admin
                case .reports: token = f.reports
                }
                let ledgerBefore = try await f.store.head()?.seq
                let r = try await send(client, method, uri, cookie: cookie, csrf: csrf, token: token, body: body)
                let expected = allowed[caller] ?? (caller == .anonymous ? .unauthorized : .forbidden)
                #expect(r.status == expected, "\(caller) \(method) \(uri) → \(r.status), expected \(expected)")
                if expected == .forbidden || expected == .unauthorized {
                    let ledgerAfter = try await f.store.head()?.seq
                    #expect(ledgerAfter == ledgerBefore, "a refused call writes nothing")
                    let campaigns = try await f.store.campaigns(org: "northwind")
                    let policies = try await f.store.orgPolicies(org: "northwind")
                    #expect(campaigns.isEmpty && policies.isEmpty)
                }
            }
        }
    }

    @Test func theDashboardShowsSharesFromKMembersAndNeverBelow() async throws {
        for staff in [8, 9] {
            // With `us`, the group has staff + 1 members: 9 (k − 1) and 10 (k).
            let f = Fixture()
            try await f.orgApp(staff: staff).test(.router) { client in
                let s = try #require(try await signIn(client, "eu", "correct horse"))
                let r = try await send(client, .get, "/v1/orgs/northwind/dashboard", cookie: s.cookie)
                let body = json(r.body)
                #expect(body["affiliated"] as? Int == staff + 1)
                if staff + 1 < 10 {
                    #expect(body["settings_status"] as? String == "too-few-to-show")
                    #expect(body["settings_off"] == nil && body["exposure"] == nil)
                    let page = String(buffer: try await send(client, .get, "/orgs/northwind", cookie: s.cookie).body)
                    #expect(page.contains("Too few to show"))
                    #expect(!page.contains(#"id="shares""#))
                } else {
                    #expect(body["settings_status"] as? String == "shown")
                    let shares = try #require(body["settings_off"] as? [[String: Any]])
                    // workers 0, 3, 6 turned AI training off: 3 of 10.
                    #expect(shares.first { $0["key"] as? String == "genai-improvement" }?["share"] as? Double == 0.3)
                }
                let raw = String(buffer: r.body) + String(buffer: try await send(client, .get, "/orgs/northwind", cookie: s.cookie).body)
                #expect(!raw.contains("worker-") && !raw.contains("\"us\""), "no member is named to an admin")
            }
        }
    }

    @Test func aReminderReachesTheMemberWhoAcknowledgesItAndTheAdminSeesTheCount() async throws {
        let f = Fixture()
        try await f.orgApp(staff: 9).test(.router) { client in
            var admin = Browser()
            _ = try await admin.signIn(client, "eu", "correct horse")
            let dashboard = String(buffer: try await admin.get(client, "/orgs/northwind").body)
            let forged = try await admin.post(client, "/orgs/northwind/campaigns", form: ["csrf": "nope", "message": "hi"])
            #expect(forged.status == .forbidden)
            let got1 = try await f.store.campaigns(org: "northwind")
            #expect(got1.isEmpty, "no CSRF token, nothing sent")
            let sent = try await admin.post(client, "/orgs/northwind/campaigns", form: ["csrf": field(dashboard, "csrf") ?? "", "message": "Review your AI settings"])
            #expect(sent.status == .seeOther)
            var member = Browser()
            _ = try await member.signIn(client, "us", "battery staple")
            let settings = String(buffer: try await member.get(client, "/settings").body)
            #expect(settings.contains(#"aria-label="1 unread""#))
            let inbox = String(buffer: try await member.get(client, "/notices").body)
            #expect(inbox.contains("Northwind asks you to review your AI-training and advertising settings"))
            #expect(inbox.contains("Review your AI settings"))
            let id = try #require(try await f.store.campaignNotices(member: "us").first?.id)
            let ack = try await member.post(client, "/notices/reminders/\(id)/acknowledge", form: ["csrf": field(inbox, "csrf") ?? ""])
            #expect(ack.status == .seeOther)
            let stolen = try await admin.post(client, "/notices/reminders/\(id)/acknowledge", form: ["csrf": field(dashboard, "csrf") ?? ""])
            #expect(stolen.status == .notFound, "an admin cannot acknowledge for a member")
            let after = String(buffer: try await admin.get(client, "/orgs/northwind").body)
            #expect(after.contains(#"<td class="reached">10</td><td class="read">1</td><td class="acknowledged">1</td>"#))
        }
    }

    @Test func anOrganisationRemindsAtMostOnceADay() async throws {
        let f = Fixture()
        try await f.orgApp(staff: 2).test(.router) { client in
            let s = try #require(try await signIn(client, "eu", "correct horse"))
            let first = try await send(client, .post, "/v1/orgs/northwind/campaigns", cookie: s.cookie, csrf: s.csrf, body: #"{"message":"one"}"#)
            #expect(first.status == .created)
            let second = try await send(client, .post, "/v1/orgs/northwind/campaigns", cookie: s.cookie, csrf: s.csrf, body: #"{"message":"two"}"#)
            #expect(second.status == .tooManyRequests)
            #expect((json(second.body)["detail"] as? String)?.contains("less than 24 hours ago") == true)
            let campaigns = try await f.store.campaigns(org: "northwind")
            #expect(campaigns.map(\.message) == ["one"], "the refused reminder reached nobody")
            let inbox = try await f.store.campaignNotices(member: "us")
            #expect(inbox.count == 1)
            // The same through the page: back to the dashboard, which says why and until when.
            var admin = Browser()
            _ = try await admin.signIn(client, "eu", "correct horse")
            let page = String(buffer: try await admin.get(client, "/orgs/northwind").body)
            let refused = try await admin.post(client, "/orgs/northwind/campaigns", form: ["csrf": field(page, "csrf") ?? "", "message": "three"])
            #expect(refused.status == .seeOther && refused.headers[.location] == "/orgs/northwind?done=wait")
            let flash = String(buffer: try await admin.get(client, "/orgs/northwind?done=wait").body)
            #expect(flash.contains("Not sent: Northwind sent a reminder on") && flash.contains("at most once a day"))
            let still = try await f.store.campaigns(org: "northwind")
            #expect(still.count == 1)
        }
    }

    @Test func theCheckupFixesAFieldInOneClickAndOnlyForItsOwner() async throws {
        let f = Fixture()
        try await f.orgApp(staff: 0).test(.router) { client in
            try await f.store.setProfileField(member: "us", ProfileField(kind: .tools, value: "Okta, Jira", visibility: .public), at: fixedNow)
            var b = Browser()
            _ = try await b.signIn(client, "us", "battery staple")
            let page = String(buffer: try await b.get(client, "/checkup").body)
            #expect(page.contains(#"data-rule="internal-tools""#))
            #expect(page.contains("8/10"))
            let csrf = field(page, "csrf") ?? ""
            let bad = try await b.post(client, "/checkup/fields/tools", form: ["csrf": csrf, "visibility": "public"])
            #expect(bad.status == .badRequest, "the fix only ever narrows")
            let r = try await b.post(client, "/checkup/fields/tools", form: ["csrf": csrf, "visibility": "private"])
            #expect(r.status == .seeOther)
            let fixed = String(buffer: try await b.get(client, "/checkup").body)
            #expect(!fixed.contains(#"data-rule="internal-tools""#))
            let got2 = try await f.store.profileFields(member: "us")
            #expect(got2.first?.visibility == .private)
            var other = Browser()
            _ = try await other.signIn(client, "eu", "correct horse")
            let theirs = try await other.post(client, "/checkup/fields/tools", form: ["csrf": field(String(buffer: try await other.get(client, "/checkup").body), "csrf") ?? "",
                                                                                     "visibility": "connections"])
            #expect(theirs.status == .notFound, "eu has no such field; us's field is untouched")
            let got3 = try await f.store.profileFields(member: "us")
            #expect(got3.first?.visibility == .private)
        }
    }

    @Test func theComplianceDashboardIsForComplianceOfficersAndDrawsTheSeries() async throws {
        let f = Fixture()
        try await f.orgApp(staff: 3).test(.router) { client in
            var officer = Browser()
            _ = try await officer.signIn(client, "officer", "officer pass")
            let page = try await officer.get(client, "/compliance")
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("<svg") && html.contains("data-share="))
            let csv = String(buffer: try await officer.get(client, "/compliance/report.csv").body)
            #expect(csv.hasPrefix("section,region_group,purpose,key,value\n"))
            // GB: worker-0 (off), worker-1, worker-2: one of three off.
            #expect(csv.contains("\nscope,GB,genai-training,off_share,0.3333\n"))
            var admin = Browser()
            _ = try await admin.signIn(client, "eu", "correct horse")
            let got4 = try await admin.get(client, "/compliance")
            #expect(got4.status == .forbidden)
            let got5 = try await admin.get(client, "/compliance/report.csv")
            #expect(got5.status == .forbidden)
        }
    }

    @Test func anEmployerIsConfirmedByTheMemberOnly() async throws {
        let f = Fixture()
        try await f.orgApp(staff: 0).test(.router) { client in
            var b = Browser()
            _ = try await b.signIn(client, "eu", "correct horse")
            let page = String(buffer: try await b.get(client, "/organisation").body)
            let csrf = field(page, "csrf") ?? ""
            let found = String(buffer: try await b.get(client, "/organisation?q=cont").body)
            #expect(found.contains(#"<option value="contoso""#) && !found.contains(#"<option value="northwind""#))
            let nothing = String(buffer: try await b.get(client, "/organisation?q=%3Cscript%3E").body)
            #expect(nothing.contains("No organisation matches “&lt;script&gt;”"))
            let unconfirmed = try await b.post(client, "/organisation", form: ["csrf": csrf, "org": "contoso"])
            #expect(unconfirmed.status == .badRequest)
            let got6 = try await f.store.affiliation(member: "eu")
            #expect(got6 == nil)
            let ok = try await b.post(client, "/organisation", form: ["csrf": csrf, "org": "contoso", "confirm": "yes"])
            #expect(ok.status == .seeOther)
            let got7 = try await f.store.affiliation(member: "eu")
            #expect(got7 == "contoso")
            let left = try await b.post(client, "/organisation", form: ["csrf": csrf, "org": ""])
            #expect(left.status == .seeOther)
            let got8 = try await f.store.affiliation(member: "eu")
            #expect(got8 == nil)
        }
    }
}
