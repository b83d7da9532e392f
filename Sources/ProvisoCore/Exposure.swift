/// Profile fields that matter to someone crafting a convincing phishing message, with who may
/// see each. The checkup reviews them with `ExposureRules`; nothing leaves the process.
public enum ProfileFieldKind: String, CaseIterable, Sendable, Hashable {
    case email, phone, birthday, manager, colleagues, projects, tools, location, travel
    /// The day the member started in their current position (YYYY-MM-DD).
    case jobStart = "job-start"

    public var code: String { rawValue }
    public init?(code: String) { self.init(rawValue: code) }

    /// The field's name on the profile page.
    public var label: String {
        switch self {
        case .email: "Contact email"
        case .phone: "Phone number"
        case .birthday: "Birthday"
        case .manager: "Reports to"
        case .colleagues: "Team members"
        case .projects: "Current projects"
        case .tools: "Tools and systems you use at work"
        case .location: "Office location"
        case .travel: "Upcoming travel"
        case .jobStart: "Started current position"
        }
    }
}

/// One field of a member's profile and its audience.
public struct ProfileField: Sendable, Equatable {
    public var kind: ProfileFieldKind
    public var value: String
    /// `public` (anyone), `connections`, or `private` (only the member).
    public var visibility: Visibility

    public init(kind: ProfileFieldKind, value: String, visibility: Visibility) {
        self.kind = kind
        self.value = value
        self.visibility = visibility
    }
}

/// What a finding is about: a profile field, or one of the member's posts.
public enum ExposureSubject: Sendable, Equatable {
    case field(ProfileFieldKind)
    case post(id: String)
}

/// One thing the profile gives away, scored by how useful it is to an attacker (1–10).
public struct ExposureFinding: Sendable, Equatable {
    /// The rule's stable code (`contact-email`, `reporting-line`, …), what organisations count.
    public var rule: String
    public var subject: ExposureSubject
    public var score: Int
    public var visibility: Visibility
    /// Why it helps an attacker, in the member's words.
    public var why: String

    public init(rule: String, subject: ExposureSubject, score: Int, visibility: Visibility, why: String) {
        self.rule = rule
        self.subject = subject
        self.score = score
        self.visibility = visibility
        self.why = why
    }
}

/// The profile-exposure rules (documented in docs/exposure.md). Each rule looks at one field or
/// at public posts; a public item scores the rule's full weight, an item visible to connections
/// half of it (rounded up: attackers do send connection requests), a private one nothing.
/// Pure and local: no network, no model, the same answer every time.
public enum ExposureRules {
    /// A rule: its code, the field it reads, its weight, and why it matters.
    public struct Rule: Sendable {
        public var code: String
        public var field: ProfileFieldKind?
        public var weight: Int
        public var why: String
    }

    /// Every rule, highest weight first.
    public static let rules: [Rule] = [
        Rule(code: "contact-email", field: .email, weight: 9,
             why: "A direct address to send a convincing message to, and a guess at every colleague's address format."),
        Rule(code: "reporting-line", field: .manager, weight: 9,
             why: "Lets someone pose as your manager asking for something urgent (CEO fraud)."),
        Rule(code: "internal-tools", field: .tools, weight: 8,
             why: "A fake sign-in page for a tool you use every day is the classic credential-phishing lure."),
        Rule(code: "phone-number", field: .phone, weight: 8,
             why: "Opens text-message and voice phishing, and account-recovery scams."),
        Rule(code: "colleague-names", field: .colleagues, weight: 7,
             why: "Real names to drop into a message make it believable."),
        Rule(code: "current-projects", field: .projects, weight: 7,
             why: "A ready-made pretext: \"about the launch you are working on…\"."),
        Rule(code: "recent-job-change", field: .jobStart, weight: 7,
             why: "New joiners expect onboarding emails from IT and HR and do not yet know what normal looks like."),
        Rule(code: "travel", field: .travel, weight: 6,
             why: "\"I know you are away, but this is urgent\" requests are timed to travel."),
        Rule(code: "travel-in-posts", field: nil, weight: 6,
             why: "A public post says where you are going or where you are: the same urgent-while-away pretext."),
        Rule(code: "birthday", field: .birthday, weight: 5,
             why: "Answers identity checks and times \"happy birthday, open your card\" lures."),
        Rule(code: "office-location", field: .location, weight: 4,
             why: "Narrows a pretext to your building: deliveries, visitors, facilities."),
    ]

    /// How recent a job change counts as recent.
    public static let recentJobDays = 90

    /// Phrases in a post that say the member is travelling (matched case-insensitively).
    public static let travelPhrases = ["flying to", "travelling to", "traveling to", "on my way to", "landed in", "at the airport",
                                       "conference in", "out of office", "heading to", "boarding"]

    /// Score for an item of weight `w` seen by `v`; nil when nobody else sees it.
    public static func score(weight w: Int, visibility v: Visibility) -> Int? {
        switch v {
        case .public: w
        case .connections: (w + 1) / 2
        case .private, .other: nil
        }
    }

    /// Reviews a profile and its posts at day `today`; findings highest score first.
    public static func review(fields: [ProfileField], posts: [Post] = [], today: Int) -> [ExposureFinding] {
        var out: [ExposureFinding] = []
        for rule in rules {
            if let kind = rule.field {
                guard let f = fields.first(where: { $0.kind == kind }), !f.value.trimmingSpaces.isEmpty,
                      let s = score(weight: rule.weight, visibility: f.visibility) else { continue }
                if kind == .jobStart {
                    // Only a recent start helps an attacker; an unreadable date is not a finding.
                    guard let day = Time.parseDate(f.value), day <= today, today - day <= recentJobDays else { continue }
                }
                out.append(ExposureFinding(rule: rule.code, subject: .field(kind), score: s, visibility: f.visibility, why: rule.why))
            } else {
                for p in posts where mentionsTravel(p.text) {
                    guard let s = score(weight: rule.weight, visibility: p.visibility) else { continue }
                    out.append(ExposureFinding(rule: rule.code, subject: .post(id: p.id), score: s, visibility: p.visibility, why: rule.why))
                }
            }
        }
        return out.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }.map(\.element)
    }

    public static func mentionsTravel(_ text: String) -> Bool {
        let lower = text.lowercased()
        return travelPhrases.contains { lower.contains($0) }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }
}

/// A post on the platform, as far as Proviso needs it: public profile pages show the public
/// ones, with the member's AI-usage reservation attached.
public struct Post: Sendable, Equatable {
    public var id: String
    public var memberID: String
    public var text: String
    public var visibility: Visibility
    public var createdAt: Micros

    public init(id: String, memberID: String, text: String, visibility: Visibility, createdAt: Micros) {
        self.id = id
        self.memberID = memberID
        self.text = text
        self.visibility = visibility
        self.createdAt = createdAt
    }
}

