import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import ProvisoCore
import ProvisoGate
import ProvisoStore

/// The member pages: sign in, Settings & Privacy, History, Receipts. Server-rendered, no
/// JavaScript needed; every form carries a CSRF token (the session's, or for the login form
/// a double-submit cookie, since there is no session yet).
struct WebPages: Sendable {
    let service: ConsentService
    let configuration: ServerConfiguration
    let now: @Sendable () -> Micros
    let throttle: LoginThrottle
    let library: MustacheLibrary

    static let loginCookie = "proviso_login"

    init(service: ConsentService, configuration: ServerConfiguration, throttle: LoginThrottle, now: @escaping @Sendable () -> Micros) throws {
        self.service = service
        self.configuration = configuration
        self.throttle = throttle
        self.now = now
        var library = MustacheLibrary()
        for (name, text) in [("head", Templates.head), ("foot", Templates.foot), ("login", Templates.login), ("settings", Templates.settings),
                             ("history", Templates.history), ("receipts", Templates.receipts), ("dataUse", Templates.dataUse), ("profile", Templates.profile), ("notices", Templates.notices), ("error", Templates.error),
                             ("organisation", Templates.organisation), ("orgPolicy", Templates.orgPolicy), ("orgAdmin", Templates.orgAdmin),
                             ("checkup", Templates.checkup), ("compliance", Templates.compliance)] {
            try library.register(text, named: name)
        }
        self.library = library
    }

    var platform: String { service.engine.policy(at: now()).platform ?? "Proviso" }

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in Self.redirect(CurrentRequest.session == nil ? "/login" : "/settings") }
        router.get("/static/proviso.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: Templates.css)))
        }
        router.get("/login") { request, _ in
            if CurrentRequest.session != nil { return Self.redirect("/settings") }
            return loginPage(error: nil, member: "", status: .ok)
        }
        router.post("/login") { request, _ in try await login(request) }
        router.post("/logout") { request, _ in try await logout(request) }
        router.get("/settings") { request, _ in try await page { m in try await settingsPage(m, request: request) } }
        router.post("/settings/:setting") { request, context in
            try await page { m in try await change(m, setting: context.parameters.get("setting") ?? "", request: request) }
        }
        router.get("/history") { _, _ in try await page { m in try await historyPage(m) } }
        router.get("/receipts") { _, _ in try await page { m in try await receiptsPage(m) } }
        router.get("/data-use") { _, _ in try await page { m in try await dataUsePage(m) } }
        router.get("/notices") { request, _ in try await page { m in try await noticesPage(m, request: request) } }
        router.post("/notices/:id/confirm") { request, context in
            try await page { m in try await confirmNotice(m, id: context.parameters.get("id") ?? "", request: request) }
        }
        addOrganisationRoutes(to: router)
        router.get("/in/:handle") { _, context in try await profilePage(handle: context.parameters.get("handle") ?? "") }
        router.get("/robots.txt") { _, _ in
            let handles = try await AIUsageSignals.reservedHandles(service, now: now())
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-cache"],
                            body: .init(byteBuffer: ByteBuffer(string: AIUsageSignals.robots(handles))))
        }
        router.get("/.well-known/tdmrep.json") { _, _ in
            let handles = try await AIUsageSignals.reservedHandles(service, now: now())
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                            body: .init(byteBuffer: ByteBuffer(string: AIUsageSignals.tdmrep(handles))))
        }
        router.get("/receipts/:file") { _, context in
            try await page { m in try await receiptFile(m, file: context.parameters.get("file") ?? "") }
        }
    }

    // MARK: rendering

    func html(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok, extraHeaders: HTTPFields = [:]) -> Response {
        var object = values
        object["platform"] = platform
        let text = library.render(object, withTemplate: template) ?? "template \(template) missing"
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            .cacheControl: "no-store",
        ]
        headers.append(contentsOf: extraHeaders)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// An HTML error page that says what happened in the member's terms, never internals.
    func errorPage(_ status: HTTPResponse.Status, _ message: String) -> Response {
        html("error", ["title": status.reasonPhrase, "message": message], status: status)
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// Runs a page for the signed-in member, or sends them to sign in.
    func page(_ body: (MemberContext) async throws -> Response) async throws -> Response {
        guard let session = CurrentRequest.session else { return Self.redirect("/login") }
        let id = session.memberID
        let name = (try? await service.store.member(id))??.name ?? id
        let unread = ((try? await service.store.unreadNotices(member: id)) ?? 0) + ((try? await service.store.unreadReminders(member: id)) ?? 0)
        let administered = (try? await service.store.administeredOrgs(member: id)) ?? []
        var orgs: [Organisation] = []
        for id in administered { if let o = try? await service.store.organisation(id: id) { orgs.append(o) } }
        let compliance = (try? await service.store.roles(member: id).contains(.compliance)) ?? false
        do {
            return try await body(MemberContext(id: id, name: name, csrf: session.csrfToken, unread: unread,
                                                adminOrgs: orgs.map { ($0.id, $0.name) }, compliance: compliance))
        } catch let e as APIError {
            return errorPage(e.status, e.detail)
        }
    }

    struct MemberContext {
        var id: String
        var name: String
        var csrf: String
        /// Unread notices and reminders, for the badge beside "Notices".
        var unread = 0
        /// Organisations the member administers (id, name), for the navigation.
        var adminOrgs: [(id: String, name: String)] = []
        /// Whether the member has the compliance role.
        var compliance = false

        func values(_ page: String, currentOrg: String? = nil) -> [String: Any] {
            var v: [String: Any] = ["member": true, "name": name, "csrf": csrf, "on\(page)": true]
            if unread > 0 { v["unread"] = unread }
            v["adminOrgs"] = adminOrgs.map { o -> [String: Any] in
                var item: [String: Any] = ["id": o.id, "name": o.name]
                if o.id == currentOrg { item["current"] = true }
                return item
            }
            if compliance { v["compliance"] = true }
            return v
        }
    }

    static func form(_ request: Request, limit: Int) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: limit)
        var out: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let k = kv.first { out[decode(k)] = kv.count > 1 ? decode(kv[1]) : "" }
        }
        return out
    }

    static func requireCSRF(_ form: [String: String], _ m: MemberContext) throws(APIError) {
        guard let sent = form["csrf"], constantTimeEqual(sent, m.csrf) else {
            throw APIError(.forbidden, "This form has expired. Go back, reload the page and try again.")
        }
    }

    // MARK: sign in / out

    func loginPage(error: String?, member: String, status: HTTPResponse.Status) -> Response {
        let token = TokenSecret.generate()
        var values: [String: Any] = ["title": "Sign in", "loginCSRF": token, "memberInput": member]
        if let error { values["error"] = error }
        return html("login", values, status: status,
                    extraHeaders: [.setCookie: "\(Self.loginCookie)=\(token); Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800"
                                   + (configuration.secureCookies ? "; Secure" : "")])
    }

    func login(_ request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        let member = form["member"] ?? ""
        guard let sent = form["csrf"], let cookie = request.cookies[Self.loginCookie]?.value, constantTimeEqual(sent, cookie) else {
            return loginPage(error: "Your sign-in form expired. Please try again.", member: member, status: .forbidden)
        }
        do {
            let (sessionID, _) = try await SignIn(store: service.store, sessionSeconds: configuration.sessionSeconds, throttle: throttle)
                .signIn(member: member, password: form["password"] ?? "", now: now())
            // A new session replaces any earlier one in this browser.
            if let old = request.cookies[sessionCookie]?.value { try? await service.store.deleteSession(idHash: TokenSecret.hash(old)) }
            return Self.redirect("/settings", cookies: [SignIn.cookie(sessionID, maxAge: configuration.sessionSeconds, secure: configuration.secureCookies),
                                                        "\(Self.loginCookie)=; Path=/login; Max-Age=0"])
        } catch {
            let message = switch error.status {
            case .unauthorized: "That member id or password is not right."
            case .tooManyRequests: "Too many attempts. Please wait a few minutes and try again."
            default: "Sign-in is unavailable right now."
            }
            return loginPage(error: message, member: member, status: error.status)
        }
    }

    func logout(_ request: Request) async throws -> Response {
        guard let session = CurrentRequest.session, let cookie = CurrentRequest.cookie else { return Self.redirect("/login") }
        let form = try await Self.form(request, limit: 16 << 10)
        guard let sent = form["csrf"], constantTimeEqual(sent, session.csrfToken) else {
            return errorPage(.forbidden, "This form has expired. Go back, reload the page and try again.")
        }
        try? await service.store.deleteSession(idHash: TokenSecret.hash(cookie))
        return Self.redirect("/login", cookies: [SignIn.cookie("", maxAge: 0, secure: configuration.secureCookies)])
    }

    // MARK: pages

    static let neverUsed = "Never used for any purpose: private messages, login and security data, payment details, salary, job applications."

    func settingsPage(_ m: MemberContext, request: Request) async throws -> Response {
        let t = now()
        guard let view = service.settings(member: m.id, at: t) else { throw APIError(.notFound, "Your account was not found.") }
        let policy = service.engine.policy(at: t)
        var sections: [(title: String, settings: [[String: Any]])] = []
        for st in view.statuses {
            let d = policy.setting(st.setting)
            let section = d?.section ?? ""
            var item: [String: Any] = [
                "setting": st.setting.code, "label": d?.label ?? st.setting.code, "explanation": st.explanation,
                "state": st.on ? "on" : "off", "stateLabel": st.on ? "On" : "Off", "next": st.on ? "off" : "on", "csrf": m.csrf,
            ]
            if let s = d?.switchLabel { item["switchLabel"] = s }
            if let s = d?.description { item["description"] = s }
            if policy.purposes(gatedBy: st.setting).contains(where: { $0.id == .genaiTraining }) { item["notes"] = [Self.neverUsed] }
            if let i = sections.firstIndex(where: { $0.title == section }) { sections[i].settings.append(item) } else { sections.append((section, [item])) }
        }
        var values = m.values("Settings")
        values["title"] = "Settings & Privacy"
        values["region"] = view.region.code
        values["policyVersion"] = policy.version
        let byGPC = view.statuses.filter { if case .gpc = $0.source { return true } else { return false } }
        if !byGPC.isEmpty {
            values["gpc"] = ["settings": byGPC.map { policy.label(of: $0.setting) }.joined(separator: " and ")]
        }
        values["sections"] = sections.enumerated().map { ["id": $0.offset, "title": $0.element.title, "settings": $0.element.settings] as [String: Any] }
        if let query = request.uri.queryParameters.get("changed"), let seq = request.uri.queryParameters.get("seq"), let s = SettingID(code: query),
           let st = view.statuses.first(where: { $0.setting == s }) {
            values["changed"] = ["label": policy.label(of: s), "value": st.on ? "on" : "off", "seq": seq]
        }
        return html("settings", values)
    }

    func change(_ m: MemberContext, setting code: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        try Self.requireCSRF(form, m)
        guard let setting = SettingID(code: code) else { throw APIError(.notFound, "There is no such setting.") }
        guard let value = form["value"], value == "on" || value == "off" else { throw APIError(.badRequest, "Choose on or off.") }
        let recorded: (event: LedgerEvent, receipt: String)
        do {
            recorded = try await service.change(member: m.id, setting: setting, on: value == "on", channel: .web, actor: "member:\(m.id)", now: now())
        } catch {
            throw APIError(.serviceUnavailable, "Your change could not be saved, and nothing was changed. Please try again.")
        }
        return Self.redirect("/settings?changed=\(setting.code)&seq=\(recorded.event.seq)#\(setting.code)")
    }

    func events(_ m: MemberContext) async throws -> [LedgerEvent] {
        do { return try await service.store.events(member: m.id) } catch {
            throw APIError(.serviceUnavailable, "Your history cannot be shown right now.")
        }
    }

    func historyPage(_ m: MemberContext) async throws -> Response {
        let policy = service.engine.policy(at: now())
        let rows: [[String: Any]] = try await events(m).map { e in
            var what: String
            switch e.kind {
            case .memberRegistered: what = "Account record created"
            case .memberChanged: what = "Account record updated"
            case .settingChanged: what = e.draft.setting.map { "\(policy.label(of: $0)): \(e.draft.value == true ? "on" : "off")" } ?? "Setting changed"
            case .policyActivated: what = "Policy \(e.draft.policyVersion ?? "") in force"
            case .policyPublished: what = "Policy \(e.draft.policyVersion ?? "") published"
            }
            return ["seq": e.seq, "recorded": Self.when(e.recordedAt), "what": what,
                    "effective": e.draft.effectiveAt.flatMap { $0 == e.recordedAt ? nil : Self.when($0) } ?? "",
                    "how": Self.how(e, member: m.id), "hash": String(e.hashHex.prefix(16)) + "…"]
        }
        var values = m.values("History")
        values["title"] = "History"
        values["events"] = rows
        values["hasEvents"] = !rows.isEmpty
        return html("history", values)
    }

    /// "29 Nov 2026, 21:21 UTC".
    static func when(_ t: Micros) -> String {
        let rfc = Time.formatRFC3339(t)
        let clock = rfc.dropFirst(11).prefix(5)
        return "\(Time.formatHuman(t)), \(clock) UTC"
    }

    /// Who or what made an entry, in the member's words.
    static func how(_ e: LedgerEvent, member: String) -> String {
        if e.draft.channel == .gpc { return "Your browser's Global Privacy Control signal" }
        if e.draft.actor == "member:\(member)" { return e.draft.channel == .web ? "You, on this site" : "You" }
        switch e.draft.channel {
        case .import?: return "Imported from the platform's earlier records"
        case .api?: return "Through the platform's systems (\(e.draft.actor))"
        default: return "The platform (\(e.draft.actor))"
        }
    }

    func receiptsPage(_ m: MemberContext) async throws -> Response {
        let policy = service.engine.policy(at: now())
        let rows: [[String: Any]] = try await events(m).filter { $0.kind == .settingChanged }.reversed().map { e in
            ["seq": e.seq, "label": e.draft.setting.map { policy.label(of: $0) } ?? "", "value": e.draft.value == true ? "on" : "off",
             "when": Self.when(e.recordedAt)]
        }
        var values = m.values("Receipts")
        values["title"] = "Receipts"
        values["receipts"] = rows
        return html("receipts", values)
    }

    /// The inbox: every notice of a policy change that widens what may be done with the
    /// member's data, with the days left before it takes effect. Opening it marks them read.
    func noticesPage(_ m: MemberContext, request: Request) async throws -> Response {
        let t = now()
        let notices: [Notice]
        do { notices = try await service.store.notices(member: m.id) } catch {
            throw APIError(.serviceUnavailable, "Your notices cannot be shown right now.")
        }
        let policy = service.engine.policy(at: t)
        let rows: [[String: Any]] = notices.map { n in
            let effective = Time.micros(dayNumber: n.effectiveDay)
            let days = Int((effective - t + Time.microsPerDay - 1) / Time.microsPerDay)
            let gate = policy.purpose(n.purpose)?.gatedBy ?? .genaiImprovement
            var row: [String: Any] = [
                "id": n.id, "label": policy.label(of: gate), "setting": gate.code, "version": n.policyVersion,
                "date": Time.formatHuman(effective), "changes": n.changes.map { "It " + (WideningKind(code: $0)?.sentence ?? $0) + "." },
                "countdown": effective > t ? "Takes effect in \(days) day\(days == 1 ? "" : "s"), on \(Time.formatHuman(effective))."
                                           : "In effect since \(Time.formatHuman(effective)).",
            ]
            if n.readAt == nil { row["unread"] = true }
            if n.asksConfirmation { row[n.confirmedAt == nil ? "asksConfirmation" : "confirmed"] = true }
            return row
        }
        var values = m.values("Notices")
        values["title"] = "Notices"
        values["notices"] = rows
        if request.uri.queryParameters.get("confirmed") != nil { values["justConfirmed"] = true }
        if request.uri.queryParameters.get("acknowledged") != nil { values["justAcknowledged"] = true }
        let reminders = try await reminderRows(m)
        values["reminders"] = reminders
        values["hasReminders"] = !reminders.isEmpty
        let response = html("notices", values)
        _ = try? await service.store.markNoticesRead(member: m.id, at: t)
        _ = try? await service.store.markCampaignNoticesRead(member: m.id, at: t)
        return response
    }

    func confirmNotice(_ m: MemberContext, id: String, request: Request) async throws -> Response {
        let form = try await Self.form(request, limit: 16 << 10)
        try Self.requireCSRF(form, m)
        guard let n = Int64(id) else { throw APIError(.notFound, "There is no such notice.") }
        let ok: Bool
        do { ok = try await service.store.confirmNotice(member: m.id, id: n, at: now()) } catch {
            throw APIError(.serviceUnavailable, "Your confirmation could not be saved. Please try again.")
        }
        guard ok else { throw APIError(.notFound, "There is no such notice.") }
        return Self.redirect("/notices?confirmed=\(n)")
    }

    /// A member's public profile: name, headline, public posts. Anyone may read it; when the
    /// member's content may not train generative AI, the page says so to machines too.
    func profilePage(handle: String) async throws -> Response {
        let t = now()
        let member: Member
        let posts: [Post]
        do {
            guard let id = try await service.store.memberID(handle: handle), let m = try await service.store.member(id),
                  m.closedAt.map({ $0 > t }) ?? true else {
                return errorPage(.notFound, "There is no public profile at this address.")
            }
            member = m
            posts = try await service.store.posts(member: id).filter { $0.visibility == .public }
        } catch {
            return errorPage(.serviceUnavailable, "This profile cannot be shown right now.")
        }
        let reserved = service.reservesAITraining(member: member.id, now: t)
        var values: [String: Any] = [
            "title": member.name ?? handle, "name": member.name ?? handle, "handle": handle,
            "posts": posts.map { ["text": $0.text, "when": Time.formatHuman($0.createdAt)] },
        ]
        if let h = member.headline { values["headline"] = h }
        if reserved { values["tdmReserved"] = true }
        var headers: HTTPFields = [.cacheControl: "no-cache"]
        if reserved { headers.append(contentsOf: AIUsageSignals.reservedHeaders) }
        var response = html("profile", values, extraHeaders: [:])
        // Public pages may be cached, but must be revalidated: the reservation can change any time.
        response.headers[.cacheControl] = nil
        response.headers.append(contentsOf: headers)
        return response
    }

    /// "How your data was used": every snapshot the gate let the member's data into, and
    /// whether it is now to be removed from it (the same check as the retraction lists).
    func dataUsePage(_ m: MemberContext) async throws -> Response {
        let uses: [SnapshotUse]
        do { uses = try await service.store.snapshotUses(member: m.id) } catch {
            throw APIError(.serviceUnavailable, "How your data was used cannot be shown right now.")
        }
        let t = now()
        let state = service.snapshot(at: t)
        let policy = service.engine.policy(at: t)
        let rows: [[String: Any]] = uses.map { u in
            let purpose = Purpose(code: u.snapshot.purpose)
            let retraction = RetractionCheck(engine: service.engine, state: state, snapshot: u.snapshot, at: t)
                .check(SnapshotMember(memberID: m.id, counts: u.counts))
            let what = u.counts.map { "\($0.count) \($0.category.code)\($0.count == 1 ? "" : "s")" }.joined(separator: ", ")
            var row: [String: Any] = [
                "purpose": purpose.flatMap { policy.purpose($0).map { policy.label(of: $0.gatedBy) } } ?? u.snapshot.purpose,
                "code": u.snapshot.purpose, "when": Self.when(u.snapshot.asOf), "what": what, "id": u.snapshot.id,
            ]
            if let name = u.snapshot.name { row["name"] = name }
            if let r = retraction {
                row["retracted"] = true
                row["why"] = r.reasons.contains(.optedOut) || r.reasons.contains(.gpc)
                    ? "You have since turned this off: the teams using this snapshot are told to remove your data before their next run."
                    : "Your data no longer qualifies (\(r.reasons.codes.joined(separator: ", "))): the teams using this snapshot are told to remove it."
            }
            return row
        }
        var values = m.values("DataUse")
        values["title"] = "How your data was used"
        values["uses"] = rows
        return html("dataUse", values)
    }

    func receiptFile(_ m: MemberContext, file: String) async throws -> Response {
        guard file.hasSuffix(".jws"), let seq = Int64(file.dropLast(4)) else { throw APIError(.notFound, "There is no such receipt.") }
        guard let e = try await events(m).first(where: { $0.seq == seq }), let receipt = Receipt(event: e, issuer: service.issuer) else {
            throw APIError(.notFound, "There is no such receipt.")
        }
        let key: ReceiptKey
        do { key = try await service.receiptKey(now: now()) } catch {
            throw APIError(.serviceUnavailable, "Receipts cannot be issued right now.")
        }
        return Response(status: .ok, headers: [.contentType: "application/jose", .contentDisposition: "attachment; filename=\"receipt-\(seq).jws\"",
                                               .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: receipt.sign(with: key) + "\n")))
    }
}
