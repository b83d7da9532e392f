import Foundation
public import ProvisoCore
import ProvisoGate
import ProvisoStore

/// The report's three renderings. Every figure of one is in the others: the CSV is the tidy
/// long form (`section,region_group,purpose,key,value`), one figure a line, for pandas or a
/// spreadsheet; the JSON nests the same; the HTML draws the series as SVG charts.
extension ComplianceReport {
    /// Shares are written with four decimals everywhere, so renderings compare as text.
    public static func share(_ x: Double) -> String { String(format: "%.4f", x) }

    static let sourceOrder = ["default-on", "default-off", "member-choice-on", "member-choice-off", "gpc", "dependency", "not-in-scope"]

    /// The tidy CSV.
    public func csv() -> String {
        var out = "section,region_group,purpose,key,value\n"
        func line(_ section: String, _ region: String, _ purpose: String, _ key: String, _ value: String) {
            out += [section, region, purpose, key, value].map(CSV.field).joined(separator: ",") + "\n"
        }
        line("report", "", "", "as_of", Time.formatRFC3339(asOf))
        line("report", "", "", "policy_version", policyVersion)
        line("report", "", "", "ledger_seq", String(ledgerSeq))
        line("ledger", "", "", "events_verified", String(ledger.events))
        line("ledger", "", "", "intact", ledger.intact ? "true" : "false")
        if let b = ledger.firstBreak { line("ledger", "", "", "first_break", b) }
        line("ledger", "", "", "head_hash", ledger.headHash)
        for s in scopes {
            let r = s.region.code, p = s.purpose.code
            line("scope", r, p, "members_in_scope", String(s.inScope))
            line("scope", r, p, "on", String(s.on))
            line("scope", r, p, "off", String(s.off))
            line("scope", r, p, "off_share", Self.share(s.offShare))
            line("scope", r, p, "minors_excluded", String(s.minorsExcluded))
            for k in Self.sourceOrder { if let n = s.sources[k] { line("source", r, p, k, String(n)) } }
            for (k, n) in s.choicesByChannel.sorted(by: { $0.key < $1.key }) { line("channel", r, p, k, String(n)) }
        }
        for n in notices {
            let key = n.policyVersion
            line("notices", n.region.code, n.purpose.code, key + ":notified", String(n.notified))
            line("notices", n.region.code, n.purpose.code, key + ":lead_days", String(n.leadDays))
            line("notices", n.region.code, n.purpose.code, key + ":read", String(n.read))
        }
        for s in snapshots {
            line("snapshot", "", s.purpose, s.id + ":members", String(s.members))
            line("snapshot", "", s.purpose, s.id + ":open_retractions", String(s.openRetractions))
        }
        for s in series {
            for (t, v) in zip(points, s.offShare) {
                line("series", s.region.code, s.purpose.code, Time.formatRFC3339(t), v.map(Self.share) ?? "")
            }
        }
        return out
    }

    /// The same figures as JSON.
    public func json() -> JSON {
        func counts(_ d: [String: Int]) -> JSON { .object(d.sorted { $0.key < $1.key }.map { ($0.key, .number(String($0.value))) }) }
        let n = { (x: Int) -> JSON in .number(String(x)) }
        return .object([
            ("as_of", .string(Time.formatRFC3339(asOf))), ("policy_version", .string(policyVersion)), ("ledger_seq", .number(String(ledgerSeq))),
            ("ledger", .object([("events_verified", .number(String(ledger.events))), ("intact", .bool(ledger.intact)),
                                ("first_break", ledger.firstBreak.map(JSON.string) ?? .null), ("head_hash", .string(ledger.headHash))])),
            ("scopes", .array(scopes.map { s in
                .object([("region_group", .string(s.region.code)), ("purpose", .string(s.purpose.code)), ("members_in_scope", n(s.inScope)),
                         ("on", n(s.on)), ("off", n(s.off)), ("off_share", .number(Self.share(s.offShare))),
                         ("minors_excluded", n(s.minorsExcluded)), ("sources", counts(s.sources)), ("choices_by_channel", counts(s.choicesByChannel))])
            })),
            ("notices", .array(notices.map { r in
                .object([("policy_version", .string(r.policyVersion)), ("region_group", .string(r.region.code)), ("purpose", .string(r.purpose.code)),
                         ("notified", n(r.notified)), ("lead_days", n(r.leadDays)), ("read", n(r.read))])
            })),
            ("snapshots", .array(snapshots.map { s in
                .object([("id", .string(s.id)), ("name", s.name.map(JSON.string) ?? .null), ("purpose", .string(s.purpose)),
                         ("as_of", .string(Time.formatRFC3339(s.asOf))), ("members", n(s.members)), ("open_retractions", n(s.openRetractions))])
            })),
            ("points", .array(points.map { .string(Time.formatRFC3339($0)) })),
            ("series", .array(series.map { s in
                .object([("region_group", .string(s.region.code)), ("purpose", .string(s.purpose.code)),
                         ("off_share", .array(s.offShare.map { $0.map { .number(Self.share($0)) } ?? .null }))])
            })),
        ])
    }
}
