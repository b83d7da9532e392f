import Foundation
public import ProvisoCore
import ProvisoStore

extension ComplianceReport {
    /// The report as an HTML fragment (tables and SVG charts), every value escaped: the
    /// compliance dashboard embeds it, `proviso report --format html` wraps it in a page.
    public func htmlFragment(labels policy: Policy) -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f %%", x * 100) }
        var h = "<section class=\"card\"><h2>Ledger</h2>"
        if ledger.intact {
            h += "<p id=\"ledger-intact\">Hash chain intact: all \(ledger.events) events recomputed; head <code>\(ledger.headHash.prefix(16))…</code></p>"
        } else {
            h += "<p class=\"error\" role=\"alert\">Hash chain broken: \(HTML.escape(ledger.firstBreak ?? "unknown"))</p>"
        }
        h += "</section>"
        h += "<section class=\"card\"><h2>Opt-out share over time</h2><p class=\"muted\">As of \(HTML.escape(Time.formatRFC3339(asOf))) · policy \(HTML.escape(policyVersion)) · ledger sequence \(ledgerSeq)</p>"
        for p in policy.purposes {
            let lines = series.filter { $0.purpose == p.id }
            guard !lines.isEmpty else { continue }
            let title = "\(policy.label(of: p.gatedBy)) (\(p.id.code)): share switched off"
            h += "<figure><h3>\(HTML.escape(policy.label(of: p.gatedBy)))</h3>" + Charts.optOutChart(title: title, points: points, series: lines.map { ($0.region.code, Int($0.region.rawValue), $0.offShare) })
            h += "<figcaption>\(HTML.escape(title)), by region group; months without members in scope are left out.</figcaption></figure>"
        }
        h += "</section>"
        h += "<section class=\"card\"><h2>Members in scope and effective settings</h2>"
        h += "<table class=\"report\"><thead><tr><th scope=\"col\">Region group</th><th scope=\"col\">Purpose</th><th scope=\"col\">In scope</th>"
        h += "<th scope=\"col\">On</th><th scope=\"col\">Off</th><th scope=\"col\">Off share</th><th scope=\"col\">Sources</th>"
        h += "<th scope=\"col\">Minors excluded</th><th scope=\"col\">Choices by channel</th></tr></thead><tbody>"
        for s in scopes {
            let sources = Self.sourceOrder.compactMap { k in s.sources[k].map { "\(k) \($0)" } }.joined(separator: ", ")
            let channels = s.choicesByChannel.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            h += "<tr><td>\(s.region.code)</td><td>\(HTML.escape(s.purpose.code))</td><td>\(s.inScope)</td><td>\(s.on)</td><td>\(s.off)</td>"
            h += "<td data-share=\"\(Self.share(s.offShare))\">\(pct(s.offShare))</td><td>\(HTML.escape(sources))</td><td>\(s.minorsExcluded)</td>"
            h += "<td>\(HTML.escape(channels.isEmpty ? "none" : channels))</td></tr>"
        }
        h += "</tbody></table></section>"
        h += "<section class=\"card\"><h2>Notices before each change</h2>"
        if notices.isEmpty {
            h += "<p>No policy version has required notices yet.</p>"
        } else {
            h += "<table class=\"report\"><thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Region group</th><th scope=\"col\">Purpose</th>"
            h += "<th scope=\"col\">Notified</th><th scope=\"col\">Lead time (days)</th><th scope=\"col\">Read</th></tr></thead><tbody>"
            for n in notices {
                h += "<tr><td>\(HTML.escape(n.policyVersion))</td><td>\(n.region.code)</td><td>\(n.purpose.code)</td><td>\(n.notified)</td>"
                h += "<td>\(n.leadDays)</td><td>\(n.read)</td></tr>"
            }
            h += "</tbody></table>"
        }
        h += "</section><section class=\"card\"><h2>Snapshots and open retractions</h2>"
        if snapshots.isEmpty {
            h += "<p>No dataset snapshot has been registered.</p>"
        } else {
            h += "<table class=\"report\"><thead><tr><th scope=\"col\">Snapshot</th><th scope=\"col\">Purpose</th><th scope=\"col\">As of</th>"
            h += "<th scope=\"col\">Members</th><th scope=\"col\">Open retractions</th></tr></thead><tbody>"
            for s in snapshots {
                h += "<tr><td><code>\(HTML.escape(s.id))</code>\(s.name.map { " " + HTML.escape($0) } ?? "")</td><td>\(HTML.escape(s.purpose))</td>"
                h += "<td>\(HTML.escape(Time.formatHuman(s.asOf)))</td><td>\(s.members)</td><td>\(s.openRetractions)</td></tr>"
            }
            h += "</tbody></table>"
        }
        return h + "</section>"
    }

    /// A self-contained HTML document of the report.
    public func htmlDocument(labels policy: Policy, platform: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Compliance report · \(HTML.escape(platform))</title>
        <style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#24292f}table{border-collapse:collapse;margin:.5rem 0}
        th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}.muted{color:#57606a}figure{margin:1rem 0}
        svg.chart{max-width:680px;width:100%;height:auto}</style></head>
        <body><h1>Compliance report · \(HTML.escape(platform))</h1>
        \(htmlFragment(labels: policy))
        </body></html>

        """
    }
}
