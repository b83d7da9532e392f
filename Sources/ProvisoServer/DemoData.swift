import HummingbirdBcrypt
import NIOPosix
public import ProvisoCore
public import ProvisoStore

/// A believable platform for `proviso serve --demo`: about a thousand members across every
/// region group, with names, handles and headlines, some history of choices (backfilled
/// through the import channel, a few GPC signals), and a handful of members one can sign in
/// as. Deterministic, so every demo looks the same.
public enum DemoData {
    /// A member one can sign in as.
    public struct Login: Sendable {
        public var handle: String
        public var name: String
        public var region: String
        public var password: String
        /// What the login shows beyond a member's pages (an organisation admin, compliance).
        public var role: String?
    }

    public static let password = "proviso-demo"

    static let people: [(countries: [String], first: [String], last: [String])] = [
        (["DE", "AT"], ["Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas", "Emma", "Paul"], ["Weber", "Schmidt", "Fischer", "Wagner", "Becker", "Hoffmann"]),
        (["FR", "BE"], ["Camille", "Louis", "Chloé", "Hugo", "Léa", "Arthur"], ["Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Simon"]),
        (["ES", "IT", "PT"], ["Lucía", "Marco", "Giulia", "Pablo", "Sofia", "Tiago"], ["García", "Rossi", "Silva", "Romano", "López", "Costa"]),
        (["NL", "SE", "DK", "NO", "FI", "IE", "PL"], ["Sanne", "Erik", "Freja", "Aoife", "Kasper", "Zofia", "Ola"], ["de Vries", "Andersson", "Nielsen", "Murphy", "Kowalski", "Hansen"]),
        (["GB"], ["Amelia", "Oliver", "Isla", "Harry", "Ava", "George"], ["Clarke", "Smith", "Jones", "Taylor", "Brown", "Evans"]),
        (["CH"], ["Nico", "Lea", "Luca", "Elena"], ["Keller", "Meier", "Müller", "Brunner"]),
        (["CA"], ["Maya", "Liam", "Chloe", "Noah", "Émile"], ["Tremblay", "Roy", "Gagnon", "MacDonald", "Wilson"]),
        (["HK"], ["Kelvin", "Wing", "Mandy", "Ka Ho"], ["Chan", "Wong", "Lee", "Cheung"]),
        (["US"], ["Dana", "Alex", "Jordan", "Taylor", "Sam", "Morgan", "Chris", "Jamie", "Riley", "Avery"], ["Ruiz", "Kim", "Johnson", "Williams", "Nguyen", "Patel", "Garcia", "Miller"]),
        (["IN", "BR", "JP", "NG", "AU", "SG", "MX", "ZA"], ["Priya", "Rafael", "Yuki", "Chidi", "Mateo", "Aisha", "Kenji", "Thandi"], ["Nair", "Souza", "Tanaka", "Okafor", "Hernández", "Smith", "Ndlovu"]),
    ]

    static let weights = [14, 8, 8, 8, 9, 3, 6, 3, 26, 15]

    static let postTexts = [
        "Thrilled to share that our team shipped the new onboarding flow this week.",
        "Three things I learned from a year of running design reviews.",
        "We're hiring! Looking for a backend engineer who loves observability.",
        "Great panel today on privacy engineering: consent has to be enforced, not promised.",
        "Grateful for a mentor who taught me to write the test first.",
        "Our quarterly report is out: growth in every region, thanks to a brilliant team.",
        "Reminder: your data settings are under Settings & Privacy → Data privacy.",
        "Just finished a course on distributed systems. Recommend it to anyone in data.",
    ]

    static let headlines = [
        "Data engineer at Northwind", "Product manager, payments", "Recruiter · hiring designers", "Privacy counsel",
        "UX designer", "Sales lead EMEA", "Nurse practitioner", "ML engineer", "Founder & CEO", "Teacher",
        "Site reliability engineer", "Marketing manager", "Student", "Financial analyst", "Journalist", "Civil engineer",
    ]

    /// Seeds an empty store; returns the logins, or `nil` if the store already has members.
    public static func seed(into store: any ConsentStore, policy: Policy, now: Micros, members count: Int = 1_000) async throws(StoreError) -> [Login]? {
        guard try await store.memberCount() == 0 else { return nil }
        var rng = SplitMix64(seed: 20_251_103)
        var members: [Member] = []
        let today = Int(now / Time.microsPerDay)
        let total = weights.reduce(0, +)
        for k in 0..<count {
            var roll = rng.int(0...(total - 1))
            var group = 0
            while roll >= weights[group] { roll -= weights[group]; group += 1 }
            let p = people[group]
            let first = rng.pick(p.first), last = rng.pick(p.last)
            // Mostly adults; about 3% are 16 or 17.
            let age = rng.chance(0.03) ? 16 : rng.int(19...70)
            let birth = today - age * 365 - rng.int(0...360)
            members.append(Member(id: String(100_000 + k), country: rng.pick(p.countries), birthDay: birth,
                                  suspectedMinor: rng.chance(0.005), closedAt: rng.chance(0.01) ? now - Int64(rng.int(1...300)) * Time.microsPerDay : nil,
                                  handle: "\(first)-\(last)-\(k)".lowercased().replacingOccurrences(of: " ", with: "-"),
                                  name: "\(first) \(last)", headline: rng.pick(headlines)))
        }
        // The members one signs in as: one per main region group, open accounts, adults.
        let logins: [(String, String, String, String)] = [
            ("demo-eu", "Lena Weber", "DE", "Data engineer at Northwind"), ("demo-uk", "Amelia Clarke", "GB", "Recruiter · hiring designers"),
            ("demo-us", "Dana Ruiz", "US", "Engineering manager"), ("demo-ca", "Maya Tremblay", "CA", "UX designer"),
            ("demo-ch", "Nico Keller", "CH", "Privacy counsel"),
            ("demo-admin", "Olivia Hart", "GB", "Head of Security at Northwind Traders"),
            ("demo-compliance", "Sam Okafor", "IE", "Data protection officer"),
        ]
        for (i, l) in logins.enumerated() {
            members.append(Member(id: String(900_000 + i), country: l.2, birthDay: today - (30 + i) * 365, handle: l.0, name: l.1, headline: l.3))
        }
        var choices: [EventDraft] = []
        let settings = SettingID.allCases
        let start = Time.micros(dayNumber: Time.parseDate("2024-06-01")!)
        for m in members.prefix(count) where rng.chance(0.3) {
            for _ in 0..<rng.int(1...3) {
                let at = start + Int64(rng.int(0...Int((now - start) / Time.microsPerSecond))) * Time.microsPerSecond
                let setting = rng.chance(0.5) ? SettingID.genaiImprovement : rng.pick(settings)
                let gpc = m.region == .us && setting == .adsOffPlatform && rng.chance(0.3)
                choices.append(.choice(member: m.id, setting: setting, on: !gpc && rng.chance(0.25), at: min(at, now), channel: gpc ? .gpc : .import,
                                       actor: "demo", policyVersion: policy.version))
            }
        }
        _ = try await store.append(WriteBatch(members: members, events: choices, policy: policy, actor: "demo", recordedAt: now, returnEvents: false))
        // A few posts each, mostly public, so the public profiles (/in/<handle>) have content.
        var posts: [Post] = []
        for m in members {
            for k in 0..<rng.int(1...4) {
                let at = now - Int64(rng.int(1...400)) * Time.microsPerDay - Int64(rng.int(0...86_399)) * Time.microsPerSecond
                posts.append(Post(id: "\(m.id)-\(k)", memberID: m.id, text: rng.pick(postTexts),
                                  visibility: rng.chance(0.7) ? .public : (rng.chance(0.5) ? .connections : .private), createdAt: at))
            }
        }
        try await store.addPosts(posts)
        let hash = (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: 10) }) ?? Bcrypt.hash(password, cost: 10)
        for i in logins.indices {
            try await store.setPasswordHash(member: String(900_000 + i), hash: hash, at: now)
        }
        let roles = try await seedOrganisations(into: store, members: members, demoIDs: logins.indices.map { String(900_000 + $0) }, now: now, rng: &rng)
        return logins.enumerated().map { i, l in
            Login(handle: l.0, name: l.1, region: RegionGroup(country: l.2)?.code ?? "ROW", password: password, role: roles[String(900_000 + i)])
        }
    }

    /// The demo's employers: Northwind (about 40 staff, above k), Contoso (about 15), Fabrikam (6,
    /// below k: its admin sees "too few to show"); profile fields that the checkup has
    /// something to say about; a compliance officer. Returns the roles of the demo logins.
    static func seedOrganisations(into store: any ConsentStore, members: [Member], demoIDs: [String], now: Micros,
                                  rng: inout SplitMix64) async throws(StoreError) -> [String: String] {
        let orgs = [("northwind", "Northwind Traders", 40), ("contoso", "Contoso", 15), ("fabrikam", "Fabrikam", 6)]
        let open = members.filter { $0.closedAt == nil && !demoIDs.contains($0.id) }
        var next = 0
        for (id, name, size) in orgs {
            try await store.createOrganisation(Organisation(id: id, name: name, createdAt: now - 90 * Time.microsPerDay))
            for m in open[next..<next + size] { try await store.setAffiliation(member: m.id, org: id, at: now - 60 * Time.microsPerDay) }
            next += size
        }
        // demo-eu works at Northwind, demo-us at Contoso, demo-ca at Fabrikam; demo-admin runs Northwind, demo-uk Fabrikam.
        try await store.setAffiliation(member: demoIDs[0], org: "northwind", at: now - 30 * Time.microsPerDay)
        try await store.setAffiliation(member: demoIDs[2], org: "contoso", at: now - 30 * Time.microsPerDay)
        try await store.setAffiliation(member: demoIDs[3], org: "fabrikam", at: now - 30 * Time.microsPerDay)
        try await store.setAffiliation(member: demoIDs[5], org: "northwind", at: now - 30 * Time.microsPerDay)
        try await store.addOrgAdmin(org: "northwind", member: demoIDs[5], at: now - 30 * Time.microsPerDay)
        try await store.addOrgAdmin(org: "fabrikam", member: demoIDs[1], at: now - 30 * Time.microsPerDay)
        try await store.grantRole(.compliance, member: demoIDs[6], at: now - 30 * Time.microsPerDay)
        _ = try await store.publishOrgPolicy(org: "northwind", markdown: """
            # Social media at Northwind Traders

            We are proud of what we build, and we want you to talk about it. A few rules keep you and us safe:

            - **Never** post about unreleased products, internal tools or customer names.
            - Keep your *reporting line* and your colleagues' names off your public profile: they are the raw material of CEO-fraud emails.
            - Think twice before posting travel plans while you are away.

            Questions? Write to [security@northwind.example](mailto:security@northwind.example).
            """, at: now - 20 * Time.microsPerDay, by: "member:\(demoIDs[5])")
        // Profile fields: a realistic mix, so the checkup and the organisation aggregates have findings.
        let today = Int(now / Time.microsPerDay)
        let values: [ProfileFieldKind: [String]] = [
            .email: ["first.last@northwind.example", "me@example.com"], .phone: ["+44 20 7946 0000", "+1 555 0100"],
            .birthday: ["14 March", "1988-07-02"], .manager: ["Priya Natarajan (VP Engineering)", "Tom Becker"],
            .colleagues: ["Ana, Luis and Kim on the data platform team"], .projects: ["Migrating billing to the new ledger", "Q3 launch of Atlas"],
            .tools: ["Okta, Jira, GitLab, Workday", "Salesforce, Slack"], .location: ["Leeds office, 3rd floor", "Berlin HQ"],
            .travel: ["Web Summit Lisbon, next week"],
        ]
        for m in open.prefix(next) + members.filter({ demoIDs.contains($0.id) }) {
            for kind in ProfileFieldKind.allCases where rng.chance(m.id == demoIDs[0] ? 0.9 : 0.35) {
                let value = kind == .jobStart ? Time.formatDate(dayNumber: today - rng.int(5...400)) : rng.pick(values[kind] ?? ["—"])
                let visibility: Visibility = rng.chance(0.6) ? .public : (rng.chance(0.5) ? .connections : .private)
                try await store.setProfileField(member: m.id, ProfileField(kind: kind, value: value, visibility: visibility), at: now)
            }
        }
        _ = try await store.sendCampaign(org: "northwind", message: "Please review your AI-training and advertising settings, and our social media policy.",
                                         at: now - 10 * Time.microsPerDay, by: "member:\(demoIDs[5])")
        return [demoIDs[5]: "admin of Northwind Traders", demoIDs[1]: "admin of Fabrikam (below k)", demoIDs[6]: "compliance officer"]
    }
}
