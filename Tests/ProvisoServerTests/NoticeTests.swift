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

@Suite struct NoticeTests {
    @Test func publicationDeliversNoticesToExactlyTheAffectedMembersWithEmailsAndAReport() async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            // us chose "on" before: they will be asked to confirm.
            let on = try await send(client, .put, "/v1/members/us/settings/genai-improvement", token: f.admin, body: #"{"value":"on"}"#)
            #expect(on.status == .ok)
            let widened = widenedSeed(version: "v2", effective: "2026-07-01")
            let r = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: widened)
            #expect(r.status == .created)
            // public_only dropped for AI training widens every region: eu, us and kid are all notified.
            let eu = try await f.store.notices(member: "eu")
            let us = try await f.store.notices(member: "us")
            let kid = try await f.store.notices(member: "kid")
            #expect(eu.count == 1 && us.count == 1 && kid.count == 1)
            #expect(eu.first?.purpose == .genaiTraining && eu.first?.changes == ["public-only-dropped"] && eu.first?.asksConfirmation == false)
            #expect(us.first?.asksConfirmation == true)
            let emails = try await f.store.pendingEmails(limit: 10)
            #expect(emails.count == 3)
            #expect(emails.first { $0.memberID == "us" }?.body.contains("Please confirm") == true)
            let report = try await f.store.noticeReport()
            #expect(report.map { "\($0.region.code) \($0.notified) \($0.leadDays)" } == ["EEA 1 30", "US 2 30"])
        }
    }

    @Test func theInboxCountsDownMarksReadAndTakesAConfirmationWithCSRF() async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            _ = try await send(client, .put, "/v1/members/us/settings/genai-improvement", token: f.admin, body: #"{"value":"on"}"#)
            _ = try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: widenedSeed(version: "v2", effective: "2026-07-01"))
            var b = Browser()
            _ = try await b.signIn(client, "us", "battery staple")
            let settings = String(buffer: try await b.get(client, "/settings").body)
            #expect(settings.contains(#"aria-label="1 unread""#))
            let inbox = String(buffer: try await b.get(client, "/notices").body)
            #expect(inbox.contains("Takes effect in 30 days, on 1 Jul 2026."))
            #expect(inbox.contains("It may also use content that is not public."))
            #expect(inbox.contains("Confirm, keep it on"))
            let after = String(buffer: try await b.get(client, "/settings").body)
            #expect(!after.contains("unread\""), "opening the inbox marks notices read")
            let id = try #require(try await f.store.notices(member: "us").first?.id)
            let forged = try await b.post(client, "/notices/\(id)/confirm", form: ["csrf": "nope"])
            #expect(forged.status == .forbidden)
            let unconfirmed = try await f.store.notices(member: "us")
            #expect(unconfirmed.first?.confirmedAt == nil)
            let csrf = field(inbox, "csrf") ?? ""
            let confirmed = try await b.post(client, "/notices/\(id)/confirm", form: ["csrf": csrf])
            #expect(confirmed.status == .seeOther)
            let confirmedNow = try await f.store.notices(member: "us")
            #expect(confirmedNow.first?.confirmedAt != nil)
            // Confirming changes no setting: the member's "on" stands as it was.
            let s = json(try await send(client, .get, "/v1/members/us/settings", token: f.admin).body)["settings"] as? [[String: Any]]
            #expect(s?.first { $0["setting"] as? String == "genai-improvement" }?["source"] as? String == "member-choice")
            // Another member cannot confirm it.
            var other = Browser()
            _ = try await other.signIn(client, "eu", "correct horse")
            let theirs = String(buffer: try await other.get(client, "/notices").body)
            let stolen = try await other.post(client, "/notices/\(id)/confirm", form: ["csrf": field(theirs, "csrf") ?? ""])
            #expect(stolen.status == .notFound)
        }
    }
}

@Suite struct RegionalNoticeTests {
    @Test func aWideningInOneRegionGroupNotifiesOnlyItsMembers() async throws {
        let f = Fixture()
        try await f.policyApp().test(.router) { client in
            let usRule = #"{"regions": ["US", "ROW"], "in_scope_from": "2024-09-18", "default": "on", "legal_basis": "opt-out"}"#
            let narrow = Policy.seed.source
                .replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "v1", "effective_from": "2026-06-02""#)
                .replacingOccurrences(of: usRule, with: usRule.replacingOccurrences(of: #""default": "on""#, with: #""default": "off""#))
            let restore = Policy.seed.source
                .replacingOccurrences(of: #""version": "seed-2025-11-03""#, with: #""version": "v2", "effective_from": "2026-07-15""#)
            #expect(try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: narrow).status == .created)
            #expect(try await f.store.pendingEmails(limit: 10).isEmpty, "a narrowing notifies no one")
            #expect(try await send(client, .post, "/v1/policies", token: f.policyAdmin, body: restore).status == .created)
            let eu = try await f.store.notices(member: "eu"), us = try await f.store.notices(member: "us")
            #expect(eu.isEmpty)
            #expect(us.map(\.changes) == [["default-turned-on"]])
            let report = try await f.store.noticeReport()
            #expect(report.map { "\($0.policyVersion) \($0.region.code) \($0.purpose.code) \($0.notified) \($0.leadDays)" } == ["v2 US genai-training 2 44"])
        }
    }
}
