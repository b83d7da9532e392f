import Foundation
import HTTPTypes
import Hummingbird
import ProvisoCore
import ProvisoReports
import ProvisoStore

/// Pages for employers and for compliance: a member confirms their employer; an organisation's
/// admins see counts and k-anonymous aggregates, publish their policy and send reminders; a
/// member reviews what their profile gives away to a phisher; compliance officers see the
/// report. Every form carries the session's CSRF token.
extension WebPages {
    var orgs: OrgAccess { OrgAccess(service: service, k: configuration.kAnonymity, now: now) }

    func addOrganisationRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/organisation") { request, _ in try await page { m in try await organisationPage(m, request: request) } }
        router.post("/organisation") { request, _ in try await page { m in try await setEmployer(m, request: request) } }
        router.get("/orgs/:org") { request, context in
            try await page { m in try await orgAdminPage(m, org: context.parameters.get("org") ?? "", request: request) }
        }
        router.get("/orgs/:org/policy") { _, context in try await page { m in try await orgPolicyPage(m, org: context.parameters.get("org") ?? "") } }
        router.post("/orgs/:org/campaigns") { request, context in
            try await page { m in try await sendCampaign(m, org: context.parameters.get("org") ?? "", request: request) }
        }
        router.post("/orgs/:org/policies") { request, context in
            try await page { m in try await publishOrgPolicy(m, org: context.parameters.get("org") ?? "", request: request) }
        }
        router.post("/notices/reminders/:id/acknowledge") { request, context in
            try await page { m in try await acknowledge(m, id: context.parameters.get("id") ?? "", request: request) }
        }
        router.get("/checkup") { request, _ in try await page { m in try await checkupPage(m, request: request) } }
        router.post("/checkup/fields/:field") { request, context in
            try await page { m in try await changeVisibility(m, field: context.parameters.get("field") ?? "", request: request) }
        }
        router.post("/checkup/posts/:post") { request, context in
            try await page { m in try await changePostVisibility(m, post: context.parameters.get("post") ?? "", request: request) }
        }
        router.get("/compliance") { _, _ in try await page { m in try await compliancePage(m) } }
        router.get("/compliance/report.csv") { _, _ in try await page { m in try await complianceDownload(m, csv: true) } }
        router.get("/compliance/report.json") { _, _ in try await page { m in try await complianceDownload(m, csv: false) } }
    }

    static func unavailable(_ what: String) -> APIError { APIError(.serviceUnavailable, "\(what) cannot be shown right now.") }

    // MARK: member: employer and reminders

    func organisationPage(_ m: MemberContext, request: Request) async throws -> Response {
        // A platform has millions of organisations: members search, and see at most 50 at a time.
        let query = String((request.uri.queryParameters.get("q") ?? "").prefix(100))
        let all: [Organisation]
        let current: Organisation?
        do {
            all = try await service.store.organisations(matching: query, limit: 50)
            if let id = try await service.store.affiliation(member: m.id) {
                current = try await service.store.organisation(id: id)
            } else {
                current = nil
            }
        } catch { throw Self.unavailable("Your employer") }
        var values = m.values("Organisation")
        values["title"] = "Employer"
        values["k"] = configuration.kAnonymity.k
        values["q"] = query
        values["orgs"] = all.map { o -> [String: Any] in
            var v: [String: Any] = ["id": o.id, "name": o.name]
            if o.id == current?.id { v["selected"] = true }
            return v
        }
        if all.isEmpty { values["noMatch"] = true }
        if let current { values["current"] = ["id": current.id, "name": current.name] }
        switch request.uri.queryParameters.get("saved") {
        case "joined"?: values["saved"] = "Saved: your employer is confirmed."
        case "left"?: values["saved"] = "Saved: you no longer have an employer on record."
        default: break
        }
        return html("organisation", values)
    }

    func setEmployer(_ m: MemberContext, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        try Self.requireCSRF(form, m)
        let org = form["org"] ?? ""
        if !org.isEmpty, form["confirm"] != "yes" { throw APIError(.badRequest, "Tick the box to confirm you currently work there.") }
        do {
            try await service.store.setAffiliation(member: m.id, org: org.isEmpty ? nil : org, at: now())
        } catch StoreError.unknownOrganisation {
            throw APIError(.badRequest, "There is no such organisation.")
        } catch {
            throw APIError(.serviceUnavailable, "Your employer could not be saved, and nothing was changed.")
        }
        return Self.redirect("/organisation?saved=\(org.isEmpty ? "left" : "joined")")
    }

    func reminderRows(_ m: MemberContext) async throws -> [[String: Any]] {
        let reminders: [CampaignNotice]
        do { reminders = try await service.store.campaignNotices(member: m.id) } catch { throw Self.unavailable("Your notices") }
        return reminders.map { r in
            var row: [String: Any] = ["id": r.id, "orgName": r.orgName, "message": r.message, "when": Self.when(r.deliveredAt), "csrf": m.csrf,
                                      "policyLink": "/orgs/\(r.orgID)/policy"]
            if r.readAt == nil { row["unread"] = true }
            if let a = r.acknowledgedAt { row["acknowledged"] = Time.formatHuman(a) }
            return row
        }
    }

    func acknowledge(_ m: MemberContext, id: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        try Self.requireCSRF(form, m)
        guard let n = Int64(id) else { throw APIError(.notFound, "There is no such reminder.") }
        let ok: Bool
        do { ok = try await service.store.acknowledgeCampaign(member: m.id, notice: n, at: now()) } catch {
            throw APIError(.serviceUnavailable, "Your acknowledgement could not be saved. Please try again.")
        }
        guard ok else { throw APIError(.notFound, "There is no such reminder.") }
        return Self.redirect("/notices?acknowledged=\(n)#reminder-\(n)")
    }

    /// An organisation's policy, for its affiliated members and its admins.
    func orgPolicyPage(_ m: MemberContext, org id: String) async throws -> Response {
        let org: Organisation?
        let policies: [OrgPolicy]
        let affiliation: String?
        do {
            org = try await service.store.organisation(id: id)
            affiliation = try await service.store.affiliation(member: m.id)
            policies = org == nil ? [] : try await service.store.orgPolicies(org: id)
        } catch { throw Self.unavailable("This policy") }
        guard let org else { throw APIError(.notFound, "There is no such organisation.") }
        guard affiliation == id || m.adminOrgs.contains(where: { $0.id == id }) else {
            throw APIError(.forbidden, "Only people who work at \(org.name) can read its policy here.")
        }
        var values = m.values("Organisation")
        values["title"] = "\(org.name): social media policy"
        values["orgName"] = org.name
        if let p = policies.first {
            values["policy"] = ["version": p.version, "when": Self.when(p.publishedAt), "html": Markdown.html(p.markdown)]
        }
        return html("orgPolicy", values)
    }

    // MARK: admins

    func orgAdminPage(_ m: MemberContext, org id: String, request: Request) async throws -> Response {
        let org = try await orgs.requireAdmin(.member(id: m.id), org: id)
        let d = try await orgs.dashboard(org)
        var values = m.values("OrgAdmin", currentOrg: org.id)
        values["title"] = org.name
        values["orgName"] = org.name
        values["orgID"] = org.id
        values["k"] = d.k
        values["affiliated"] = d.affiliated
        values["campaigns"] = d.campaigns.map { c -> [String: Any] in
            ["when": Self.when(c.sentAt), "message": c.message, "reached": c.reached, "read": c.read, "acknowledged": c.acknowledged]
        }
        values["hasCampaigns"] = !d.campaigns.isEmpty
        func pct(_ x: Double) -> String { String(format: "%.0f %%", x * 100) }
        if let shares = d.settings.value {
            values["shares"] = ["settings": shares.map { ["setting": $0.setting.code, "label": $0.label, "percent": $0.offShare.map(pct) ?? "too few to show"] }]
        } else {
            values["tooFew"] = true
        }
        if let findings = d.exposure.value {
            values["findings"] = ["rows": findings.map { ["rule": ExposureText.title($0.rule), "percent": pct($0.share)] }]
        }
        if let latest = d.policies.first {
            values["latest"] = ["version": latest.version, "when": Self.when(latest.publishedAt)]
            values["markdown"] = latest.markdown
        } else {
            values["markdown"] = "# Social media at \(org.name)\n\n- Do not post about unreleased projects or internal tools.\n- Keep your reporting line and colleagues' names off public profiles.\n"
        }
        switch request.uri.queryParameters.get("done") {
        case "sent"?: values["flash"] = "Reminder sent to \(request.uri.queryParameters.get("reached") ?? "0") members."
        case "published"?: values["flash"] = "Policy version \(request.uri.queryParameters.get("version") ?? "") published."
        case "wait"?:
            if let last = d.campaigns.first {
                values["flash"] = "Not sent: \(org.name) sent a reminder on \(Self.when(last.sentAt)). Members hear from you at most once a day; "
                    + "the next reminder can go after \(Self.when(last.sentAt + OrgAccess.campaignInterval))."
            }
        default: break
        }
        return html("orgAdmin", values)
    }

    func sendCampaign(_ m: MemberContext, org id: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 64 << 10)
        try Self.requireCSRF(form, m)
        let org = try await orgs.requireAdmin(.member(id: m.id), org: id)
        let sent: Campaign
        do { sent = try await orgs.sendCampaign(org, message: form["message"] ?? "", by: m.id) } catch {
            // Too soon after the last one: back to the dashboard, which says when the next may go.
            guard error.status == .tooManyRequests else { throw error }
            return Self.redirect("/orgs/\(org.id)?done=wait")
        }
        return Self.redirect("/orgs/\(org.id)?done=sent&reached=\(sent.reached)")
    }

    func publishOrgPolicy(_ m: MemberContext, org id: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 256 << 10)
        try Self.requireCSRF(form, m)
        let org = try await orgs.requireAdmin(.member(id: m.id), org: id)
        let p = try await orgs.publishPolicy(org, markdown: form["markdown"] ?? "", by: m.id)
        return Self.redirect("/orgs/\(org.id)?done=published&version=\(p.version)")
    }

    // MARK: checkup

    func checkupPage(_ m: MemberContext, request: Request) async throws -> Response {
        let findings = try await orgs.exposure(member: m.id)
        var values = m.values("Checkup")
        values["title"] = "Profile checkup"
        values["findings"] = findings.map { f -> [String: Any] in
            var row: [String: Any] = ["rule": f.rule, "title": ExposureText.title(f.rule), "score": f.score, "why": f.why, "csrf": m.csrf,
                                      "audience": f.visibility == .public ? "everyone" : "your connections"]
            switch f.subject {
            case let .field(kind):
                row["action"] = "/checkup/fields/\(kind.code)"
                row["fixTo"] = "private"
                row["fixLabel"] = "Make “\(kind.label)” visible only to me"
            case let .post(id):
                row["action"] = "/checkup/posts/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id)"
                row["fixTo"] = f.visibility == .public ? "connections" : "private"
                row["fixLabel"] = f.visibility == .public ? "Show this post to my connections only" : "Make this post private"
            }
            return row
        }
        if let changed = request.uri.queryParameters.get("changed") { values["flash"] = "Saved: \(changed) is now less visible." }
        return html("checkup", values)
    }

    static func visibility(_ form: [String: String]) throws(APIError) -> Visibility {
        guard let v = form["visibility"].flatMap(Visibility.init(strictCode:)), v != .public else {
            throw APIError(.badRequest, "Choose connections or private.")
        }
        return v
    }

    func changeVisibility(_ m: MemberContext, field code: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        try Self.requireCSRF(form, m)
        guard let kind = ProfileFieldKind(code: code) else { throw APIError(.notFound, "There is no such profile field.") }
        let v = try Self.visibility(form)
        let ok: Bool
        do { ok = try await service.store.setFieldVisibility(member: m.id, kind: kind, visibility: v, at: now()) } catch {
            throw APIError(.serviceUnavailable, "The change could not be saved, and nothing was changed.")
        }
        guard ok else { throw APIError(.notFound, "Your profile has no such field.") }
        return Self.redirect("/checkup?changed=\(kind.label.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? kind.code)")
    }

    func changePostVisibility(_ m: MemberContext, post: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        try Self.requireCSRF(form, m)
        let v = try Self.visibility(form)
        let ok: Bool
        do { ok = try await service.store.setPostVisibility(member: m.id, post: post, visibility: v) } catch {
            throw APIError(.serviceUnavailable, "The change could not be saved, and nothing was changed.")
        }
        guard ok else { throw APIError(.notFound, "You have no such post.") }
        return Self.redirect("/checkup?changed=your%20post")
    }

    // MARK: compliance

    func compliancePage(_ m: MemberContext) async throws -> Response {
        try await orgs.requireReports(.member(id: m.id))
        let t = now()
        let report = try await orgs.report(at: t, months: 12)
        var values = m.values("Compliance")
        values["title"] = "Compliance"
        values["reportHTML"] = report.htmlFragment(labels: service.engine.policy(at: t))
        return html("compliance", values)
    }

    func complianceDownload(_ m: MemberContext, csv: Bool) async throws -> Response {
        try await orgs.requireReports(.member(id: m.id))
        let report = try await orgs.report(at: now(), months: 12)
        let body = csv ? report.csv() : report.json().pretty + "\n"
        return Response(status: .ok, headers: [.contentType: csv ? "text/csv; charset=utf-8" : "application/json",
                                               .contentDisposition: "attachment; filename=\"compliance-report.\(csv ? "csv" : "json")\"",
                                               .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Short titles of the exposure rules, for pages.
enum ExposureText {
    static func title(_ rule: String) -> String {
        switch rule {
        case "contact-email": "Your contact email is on your profile"
        case "reporting-line": "Who you report to is on your profile"
        case "internal-tools": "The tools and systems you use at work are listed"
        case "phone-number": "Your phone number is on your profile"
        case "colleague-names": "Your team members are named"
        case "current-projects": "Your current projects are described"
        case "recent-job-change": "You started a new position recently"
        case "travel": "Your upcoming travel is on your profile"
        case "travel-in-posts": "A post says where you are travelling"
        case "birthday": "Your birthday is on your profile"
        case "office-location": "Your office location is on your profile"
        default: rule
        }
    }
}
