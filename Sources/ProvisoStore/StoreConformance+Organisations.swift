import ProvisoCore

extension StoreConformance {
    static func seeded(_ store: any ConsentStore, _ ids: [String]) async throws {
        _ = try await store.append(WriteBatch(members: ids.map { member($0) }, policy: .seed, actor: "test", recordedAt: t0))
    }

    static let organisationChecks: [Check] = [
        Check(name: "organisations have unique ids and admins must be known members of known organisations") { store in
            try await seeded(store, ["a", "b"])
            try await store.createOrganisation(Organisation(id: "northwind", name: "Northwind", createdAt: t0))
            try await store.createOrganisation(Organisation(id: "contoso", name: "Contoso", createdAt: t0))
            do {
                try await store.createOrganisation(Organisation(id: "northwind", name: "Again", createdAt: t0))
                throw Failure(message: "a second organisation with the same id must be refused")
            } catch StoreError.conflict {}
            let orgs = try await store.organisations()
            try expect(orgs.map(\.id) == ["contoso", "northwind"] && orgs[1].name == "Northwind", "organisations by id: \(orgs)")
            let one = try await store.organisation(id: "northwind")
            try await store.createOrganisation(Organisation(id: "fabrikam", name: "Fabrikam 100% Ltd", createdAt: t0))
            let byName = try await store.organisations(matching: "WIND", limit: 10)
            let byID = try await store.organisations(matching: "con", limit: 10)
            let first = try await store.organisations(matching: "", limit: 2)
            let literal = try await store.organisations(matching: "0%", limit: 10)
            let wildcard = try await store.organisations(matching: "%", limit: 10)
            try expect(byName.map(\.id) == ["northwind"] && byID.map(\.id) == ["contoso"], "search by name or id: \(byName), \(byID)")
            try expect(first.map(\.id) == ["contoso", "fabrikam"], "by name, limited: \(first)")
            try expect(literal.map(\.id) == ["fabrikam"] && wildcard.map(\.id) == ["fabrikam"], "% is a character, not a wildcard: \(literal), \(wildcard)")
            let missing = try await store.organisation(id: "nowhere")
            try expect(one?.name == "Northwind" && missing == nil, "one organisation by id: \(String(describing: one))")
            try await store.addOrgAdmin(org: "northwind", member: "a", at: t0)
            try await store.addOrgAdmin(org: "northwind", member: "a", at: t0 + 1)
            do {
                try await store.addOrgAdmin(org: "nowhere", member: "a", at: t0)
                throw Failure(message: "an admin of an unknown organisation must be refused")
            } catch StoreError.unknownOrganisation(let id) { try expect(id == "nowhere", "the error names the organisation") }
            do {
                try await store.addOrgAdmin(org: "contoso", member: "ghost", at: t0)
                throw Failure(message: "an unknown member cannot be an admin")
            } catch StoreError.unknownMember {}
            let administered = try await store.administeredOrgs(member: "a")
            try expect(administered == ["northwind"], "a administers northwind only: \(administered)")
            let none = try await store.administeredOrgs(member: "b")
            try expect(none.isEmpty, "b administers nothing")
        },
        Check(name: "a campaign reaches the members affiliated when it is sent and counts reads and acknowledgements") { store in
            try await seeded(store, ["a", "b", "c", "d"])
            try await store.createOrganisation(Organisation(id: "northwind", name: "Northwind", createdAt: t0))
            try await store.createOrganisation(Organisation(id: "contoso", name: "Contoso", createdAt: t0))
            for m in ["a", "b", "c"] { try await store.setAffiliation(member: m, org: "northwind", at: t0) }
            try await store.setAffiliation(member: "d", org: "contoso", at: t0)
            try await store.setAffiliation(member: "c", org: nil, at: t0 + 1)
            let affiliated = try await store.affiliatedMembers(org: "northwind")
            try expect(affiliated == ["a", "b"], "c left northwind: \(affiliated)")
            let aff = try await store.affiliation(member: "d")
            try expect(aff == "contoso", "d works at contoso")
            do {
                try await store.setAffiliation(member: "a", org: "nowhere", at: t0)
                throw Failure(message: "an affiliation with an unknown organisation must be refused")
            } catch StoreError.unknownOrganisation {}
            let kept = try await store.affiliation(member: "a")
            try expect(kept == "northwind", "a refused affiliation changes nothing")
            let sent = try await store.sendCampaign(org: "northwind", message: "Please review", at: t0 + 10, by: "member:a")
            try expect(sent.reached == 2 && sent.read == 0 && sent.acknowledged == 0, "reached the two affiliated: \(sent)")
            let inbox = try await store.campaignNotices(member: "b")
            try expect(inbox.count == 1 && inbox[0].orgName == "Northwind" && inbox[0].message == "Please review" && inbox[0].readAt == nil,
                       "b has the reminder: \(inbox)")
            let other = try await store.campaignNotices(member: "d")
            try expect(other.isEmpty, "contoso's member gets nothing")
            let unreadBefore = try await store.unreadReminders(member: "b")
            let read = try await store.markCampaignNoticesRead(member: "b", at: t0 + 20)
            let unreadAfter = try await store.unreadReminders(member: "b")
            try expect(unreadBefore == 1 && read == 1 && unreadAfter == 0, "one reminder unread, then read: \(unreadBefore), \(read), \(unreadAfter)")
            let wrong = try await store.acknowledgeCampaign(member: "d", notice: inbox[0].id, at: t0 + 21)
            try expect(!wrong, "a member cannot acknowledge someone else's reminder")
            let ok = try await store.acknowledgeCampaign(member: "b", notice: inbox[0].id, at: t0 + 22)
            let again = try await store.acknowledgeCampaign(member: "b", notice: inbox[0].id, at: t0 + 30)
            try expect(ok && again, "acknowledging is allowed and idempotent")
            let after = try await store.campaignNotices(member: "b")
            try expect(after[0].acknowledgedAt == t0 + 22, "the first acknowledgement's time is kept")
            let campaigns = try await store.campaigns(org: "northwind")
            try expect(campaigns.count == 1 && campaigns[0].reached == 2 && campaigns[0].read == 1 && campaigns[0].acknowledged == 1,
                       "counts: \(campaigns)")
            try await store.setAffiliation(member: "d", org: "northwind", at: t0 + 40)
            let later = try await store.campaignNotices(member: "d")
            try expect(later.isEmpty, "joining later does not deliver old campaigns")
            do {
                _ = try await store.sendCampaign(org: "nowhere", message: "x", at: t0, by: "member:a")
                throw Failure(message: "a campaign of an unknown organisation must be refused")
            } catch StoreError.unknownOrganisation {}
        },
        Check(name: "organisation policies are versioned per organisation, newest first") { store in
            try await store.createOrganisation(Organisation(id: "northwind", name: "Northwind", createdAt: t0))
            try await store.createOrganisation(Organisation(id: "contoso", name: "Contoso", createdAt: t0))
            let p1 = try await store.publishOrgPolicy(org: "northwind", markdown: "# One", at: t0 + 1, by: "member:a")
            _ = try await store.publishOrgPolicy(org: "contoso", markdown: "# C", at: t0 + 2, by: "member:c")
            let p2 = try await store.publishOrgPolicy(org: "northwind", markdown: "# Two", at: t0 + 3, by: "member:a")
            try expect(p1.version == 1 && p2.version == 2, "versions count per organisation: \(p1.version), \(p2.version)")
            let list = try await store.orgPolicies(org: "northwind")
            try expect(list == [p2, p1], "newest first: \(list)")
        },
        Check(name: "roles are granted to known members only") { store in
            try await seeded(store, ["a"])
            try await store.grantRole(.compliance, member: "a", at: t0)
            try await store.grantRole(.compliance, member: "a", at: t0 + 1)
            let roles = try await store.roles(member: "a")
            try expect(roles == [.compliance], "a is a compliance officer: \(roles)")
            do {
                try await store.grantRole(.compliance, member: "ghost", at: t0)
                throw Failure(message: "a role for an unknown member must be refused")
            } catch StoreError.unknownMember {}
        },
        Check(name: "profile fields and post visibility change only for their owner") { store in
            try await seeded(store, ["a", "b"])
            try await store.setProfileField(member: "a", ProfileField(kind: .manager, value: "Dana Boss", visibility: .public), at: t0)
            try await store.setProfileField(member: "a", ProfileField(kind: .email, value: "a@example.com", visibility: .connections), at: t0)
            try await store.setProfileField(member: "a", ProfileField(kind: .email, value: "a@example.org", visibility: .public), at: t0 + 1)
            let fields = try await store.profileFields(member: "a")
            try expect(fields == [ProfileField(kind: .email, value: "a@example.org", visibility: .public),
                                  ProfileField(kind: .manager, value: "Dana Boss", visibility: .public)], "fields in kind order: \(fields)")
            let changed = try await store.setFieldVisibility(member: "a", kind: .manager, visibility: .private, at: t0 + 2)
            let missing = try await store.setFieldVisibility(member: "b", kind: .manager, visibility: .private, at: t0 + 2)
            try expect(changed && !missing, "only an existing field of the member changes")
            let after = try await store.profileFields(member: "a")
            try expect(after.first { $0.kind == .manager }?.visibility == .private, "manager is now private")
            do {
                try await store.setProfileField(member: "ghost", ProfileField(kind: .phone, value: "1", visibility: .public), at: t0)
                throw Failure(message: "a field of an unknown member must be refused")
            } catch StoreError.unknownMember {}
            try await store.addPosts([Post(id: "p1", memberID: "a", text: "Flying to Berlin", visibility: .public, createdAt: t0)])
            let notMine = try await store.setPostVisibility(member: "b", post: "p1", visibility: .connections)
            let mine = try await store.setPostVisibility(member: "a", post: "p1", visibility: .connections)
            try expect(!notMine && mine, "only the author changes a post's audience")
            let posts = try await store.posts(member: "a")
            try expect(posts.first?.visibility == .connections, "the post is now for connections")
        },
        Check(name: "an organisation's affiliated profiles in one read are what each member's reads give") { store in
            try await seeded(store, ["a", "b", "c"])
            try await store.createOrganisation(Organisation(id: "northwind", name: "Northwind", createdAt: t0))
            try await store.setAffiliation(member: "a", org: "northwind", at: t0)
            try await store.setAffiliation(member: "b", org: "northwind", at: t0)
            for (m, kind, value) in [("a", ProfileFieldKind.manager, "Dana Boss"), ("a", .email, "a@example.com"), ("c", .phone, "555")] {
                try await store.setProfileField(member: m, ProfileField(kind: kind, value: value, visibility: .public), at: t0)
            }
            try await store.addPosts([
                Post(id: "p1", memberID: "a", text: "Flying to Berlin", visibility: .public, createdAt: t0),
                Post(id: "p2", memberID: "a", text: "Back home", visibility: .connections, createdAt: t0 + 5),
                Post(id: "p0", memberID: "a", text: "Same time", visibility: .public, createdAt: t0 + 5),
                Post(id: "p3", memberID: "b", text: "New job!", visibility: .public, createdAt: t0 + 1),
                Post(id: "p4", memberID: "c", text: "Not affiliated", visibility: .public, createdAt: t0),
            ])
            let all = try await store.affiliatedProfiles(org: "northwind")
            try expect(all["c"] == nil, "only affiliated members: \(all.keys.sorted())")
            for m in ["a", "b"] {
                let one = MemberProfile(fields: try await store.profileFields(member: m), posts: try await store.posts(member: m))
                try expect(all[m] ?? MemberProfile() == one, "\(m): \(String(describing: all[m])) against \(one)")
            }
            try expect(all["a"]?.fields.count == 2 && all["a"]?.posts.map(\.id) == ["p2", "p0", "p1"], "a's fields and posts: \(String(describing: all["a"]))")
            let none = try await store.affiliatedProfiles(org: "nobody")
            try expect(none.isEmpty, "an organisation without members has no profiles")
        },
    ]
}

extension StoreConformance {
    /// Batches big enough for a store's bulk path (PostgreSQL COPY) must give exactly what small
    /// ones give.
    static let bulkChecks: [Check] = [
        Check(name: "a bulk batch registers, changes and records choices like a small one, in one verifiable chain") { store in
            _ = try await store.append(WriteBatch(members: [member("old-1"), member("old-2")], policy: .seed, actor: "test", recordedAt: t0))
            var members = (0..<700).map { member(String(format: "bulk-%04d", $0)) }
            members.append(member("old-1"))                       // unchanged
            members.append(member("old-2", "FR"))                 // changed
            var twice = member("bulk-0001", "US")
            twice.name = "Renamed\tin\\the\nsame batch"           // COPY's special characters
            members.append(twice)                                 // changed again within the batch
            let events = (0..<300).map { choice(String(format: "bulk-%04d", $0), .genaiImprovement, $0 % 2 == 0, at: t0 + Int64($0)) }
                + [choice("old-1", .adsOffPlatform, false, at: t0)]
            let r = try await store.append(WriteBatch(members: members, events: events, policy: .seed, actor: "bulk", recordedAt: t0 + 1))
            try expect(r.registered == 700 && r.changed == 2 && r.unchanged == 1, "counts: \(r.registered)/\(r.changed)/\(r.unchanged)")
            try expect(r.written == 702 + 301 && r.lastSeq == 3 + 702 + 301, "written \(r.written), last \(r.lastSeq)")
            try expect(r.events.count == r.written && r.events.last?.draft.memberID == "old-1", "the sealed events come back in order")
            let v = try await store.verify(pageSize: 97)
            try expect(v.failure == nil && v.checked == Int64(r.lastSeq), "the chain verifies: \(String(describing: v.failure))")
            let m = try await store.member("bulk-0001")
            try expect(m?.country == "US" && m?.name == "Renamed\tin\\the\nsame batch", "the last version within a batch wins: \(String(describing: m))")
            let fr = try await store.member("old-2")
            try expect(fr?.country == "FR", "a stored member is updated")
            let state = try await store.loadState()
            try expect(state.memberCount == 702, "702 members, got \(state.memberCount)")
            let i = state.memberIndex("bulk-0002")
            try expect(state.latestChoice(member: i, setting: .genaiImprovement, at: t0 + 10)?.on == true, "choices are in the projection")
            let head = try await store.head()
            try expect(head?.seq == r.lastSeq && head?.hash == r.events.last?.hash, "the head is the last event")
        },
        Check(name: "a bulk batch naming an unknown member changes nothing") { store in
            _ = try await store.append(WriteBatch(members: [member("a")], policy: .seed, actor: "test", recordedAt: t0))
            let before = try await store.head()
            let events = (0..<600).map { choice("a", .genaiImprovement, $0 % 2 == 0, at: t0 + Int64($0)) } + [choice("ghost", .genaiImprovement, false, at: t0)]
            do {
                _ = try await store.append(WriteBatch(members: (0..<10).map { member("n\($0)") }, events: events, actor: "test", recordedAt: t0))
                throw Failure(message: "a bulk batch with an unknown member must be refused")
            } catch StoreError.unknownMember(let id) {
                try expect(id == "ghost", "the error names the unknown member, got \(id)")
            }
            let after = try await store.head()
            try expect(after == before, "nothing was written")
            let n = try await store.member("n0")
            try expect(n == nil, "no member of the refused batch was stored")
        },
    ]
}

extension StoreConformance {
    static let noticeChecks: [Check] = [
        Check(name: "notices are delivered with their publication, counted, read, confirmed and reported") { store in
            _ = try await store.append(WriteBatch(members: [member("a"), member("b", "US")], policy: .seed, actor: "test", recordedAt: t0))
            let text = Policy.seed.source.replacingFirst(#""version": "seed-2025-11-03""#, with: #""version": "v2", "effective_from": "2026-03-01""#)
            let v2 = try Policy.parse(text)
            let day = Time.parseDate("2026-03-01")!
            func delivery(_ m: String, _ region: RegionGroup, asks: Bool) -> NoticeDelivery {
                NoticeDelivery(notice: Notice(memberID: m, policyVersion: "v2", purpose: .genaiTraining, region: region, changes: ["default-turned-on"],
                                              effectiveDay: day, deliveredAt: t0 + 10, asksConfirmation: asks),
                               subject: "Changes to how your data is used", body: "Dear \(m)")
            }
            _ = try await store.publishPolicy(v2, publishedAt: t0 + 10, actor: "cli:test",
                                              notices: [delivery("a", .eea, asks: false), delivery("b", .us, asks: true)])
            let a = try await store.notices(member: "a")
            try expect(a.count == 1 && a[0].changes == ["default-turned-on"] && a[0].effectiveDay == day && a[0].readAt == nil, "a's notice: \(a)")
            let unread = try await store.unreadNotices(member: "a")
            let marked = try await store.markNoticesRead(member: "a", at: t0 + 20)
            let after = try await store.unreadNotices(member: "a")
            try expect(unread == 1 && marked == 1 && after == 0, "unread, marked, after: \(unread), \(marked), \(after)")
            let b = try await store.notices(member: "b")
            let notAsked = try await store.confirmNotice(member: "a", id: a[0].id, at: t0 + 30)
            let notTheirs = try await store.confirmNotice(member: "a", id: b[0].id, at: t0 + 30)
            let confirmed = try await store.confirmNotice(member: "b", id: b[0].id, at: t0 + 30)
            try expect(!notAsked && !notTheirs && confirmed, "only b confirms b's notice that asks for it")
            let emails = try await store.pendingEmails(limit: 10)
            try expect(emails.map(\.memberID).sorted() == ["a", "b"] && emails.allSatisfy { $0.subject == "Changes to how your data is used" },
                       "one email per notice: \(emails)")
            try await store.markEmailSent(id: emails[0].id, at: t0 + 40)
            let pending = try await store.pendingEmails(limit: 10)
            try expect(pending.count == 1 && pending[0].id == emails[1].id, "a sent email leaves the outbox")
            let report = try await store.noticeReport()
            try expect(report.map { "\($0.region.code) \($0.notified) \($0.read) \($0.confirmationsAsked) \($0.confirmed)" } == ["EEA 1 1 0 0", "US 1 0 1 1"],
                       "report: \(report)")
        },
        Check(name: "a publication to thousands of members gives each their own notice and email") { store in
            // More than a PostgreSQL batch (5,000): pairing must hold across statements.
            let ids = (0..<5_203).map { "w\($0)" }
            _ = try await store.append(WriteBatch(members: ids.map { member($0) }, policy: .seed, actor: "test", recordedAt: t0))
            let v2 = try Policy.parse(Policy.seed.source.replacingFirst(#""version": "seed-2025-11-03""#, with: #""version": "v2", "effective_from": "2026-03-01""#))
            let deliveries = ids.enumerated().map { k, m in
                NoticeDelivery(notice: Notice(memberID: m, policyVersion: "v2", purpose: .genaiTraining, region: .eea, changes: ["default-turned-on"],
                                              effectiveDay: Time.parseDate("2026-03-01")!, deliveredAt: t0 + 10, asksConfirmation: k % 7 == 0),
                               subject: "Changes", body: "Dear \(m)")
            }
            _ = try await store.publishPolicy(v2, publishedAt: t0 + 10, actor: "test", notices: deliveries)
            let emails = try await store.pendingEmails(limit: 10_000)
            try expect(emails.count == ids.count, "one email per notice: \(emails.count)")
            try expect(emails.allSatisfy { $0.body == "Dear \($0.memberID)" }, "each email is its member's")
            for m in ["w0", "w4999", "w5000", "w5202"] {
                let theirs = try await store.notices(member: m)
                let email = emails.first { $0.memberID == m }
                try expect(theirs.count == 1 && email?.noticeID == theirs[0].id, "\(m)'s email points at \(m)'s notice")
                try expect(theirs[0].asksConfirmation == (Int(m.dropFirst())! % 7 == 0), "\(m)'s notice kept its own fields")
            }
        },
    ]
}
