import Testing
import ProvisoCore

@Suite struct ExposureRulesTests {
    static let today = Time.parseDate("2026-11-30")!

    /// A public value for each field rule that makes it fire.
    static func firingValue(_ kind: ProfileFieldKind) -> String {
        switch kind {
        case .jobStart: "2026-10-01"
        case .email: "sam@northwind.example"
        default: "something telling"
        }
    }

    static let fieldRules = ExposureRules.rules.filter { $0.field != nil }.map(\.code)

    @Test(arguments: fieldRules)
    func eachFieldRuleFindsAPublicFieldAndNotAPrivateOne(_ code: String) {
        let rule = ExposureRules.rules.first { $0.code == code }!
        let kind = rule.field!
        let shown = ExposureRules.review(fields: [ProfileField(kind: kind, value: Self.firingValue(kind), visibility: .public)], today: Self.today)
        #expect(shown.map(\.rule) == [code])
        #expect(shown.first?.score == rule.weight)
        #expect(shown.first?.subject == .field(kind))
        let hidden = ExposureRules.review(fields: [ProfileField(kind: kind, value: Self.firingValue(kind), visibility: .private)], today: Self.today)
        #expect(hidden.isEmpty)
        let empty = ExposureRules.review(fields: [ProfileField(kind: kind, value: "  ", visibility: .public)], today: Self.today)
        #expect(empty.isEmpty, "an empty field gives nothing away")
    }

    @Test func aFieldSeenByConnectionsScoresHalfRoundedUp() {
        let f = ExposureRules.review(fields: [ProfileField(kind: .manager, value: "Dana", visibility: .connections)], today: Self.today)
        #expect(f.map(\.score) == [5])
    }

    @Test func aJobChangeCountsOnlyWhileRecent() {
        func review(_ date: String) -> [String] {
            ExposureRules.review(fields: [ProfileField(kind: .jobStart, value: date, visibility: .public)], today: Self.today).map(\.rule)
        }
        #expect(review("2026-09-01") == ["recent-job-change"], "90 days ago is still recent")
        #expect(review("2026-08-31").isEmpty, "91 days ago is not")
        #expect(review("2027-01-01").isEmpty, "a start in the future is no change yet")
        #expect(review("last spring").isEmpty, "an unreadable date is not a finding")
    }

    @Test func aPublicPostAboutTravelIsAFindingAndOtherPostsAreNot() {
        let t: Micros = Time.micros(dayNumber: Self.today)
        let posts = [
            Post(id: "p1", memberID: "m", text: "Flying to Lisbon for the conference next week!", visibility: .public, createdAt: t),
            Post(id: "p2", memberID: "m", text: "Great quarter for the team.", visibility: .public, createdAt: t),
            Post(id: "p3", memberID: "m", text: "At the airport again", visibility: .private, createdAt: t),
        ]
        let f = ExposureRules.review(fields: [], posts: posts, today: Self.today)
        #expect(f.map(\.rule) == ["travel-in-posts"])
        #expect(f.first?.subject == .post(id: "p1"))
    }

    @Test func findingsComeHighestScoreFirst() {
        let f = ExposureRules.review(fields: [
            ProfileField(kind: .location, value: "Leeds office", visibility: .public),
            ProfileField(kind: .manager, value: "Dana", visibility: .public),
            ProfileField(kind: .birthday, value: "1990-05-17", visibility: .public),
        ], today: Self.today)
        #expect(f.map(\.score) == [9, 5, 4])
    }

    @Test func aGroupFigureIsShownFromKMembersAndNeverBelow() {
        let k = KAnonymity.standard
        var computed = false
        let below = k.figure(groupSize: k.k - 1) { computed = true; return 0.5 }
        #expect(below == .tooFewToShow)
        #expect(!computed, "nothing about a small group is even computed")
        #expect(k.figure(groupSize: k.k) { 0.5 } == .shown(0.5))
    }
}
