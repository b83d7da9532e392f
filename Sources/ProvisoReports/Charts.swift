import Foundation
public import ProvisoCore

/// Line charts drawn as inline SVG (no script, no external library): the opt-out share over time
/// of one purpose, a line per region group. Each point carries its figure as `data-share`
/// (the CSV's four decimals), so a chart can be checked against the CSV mechanically.
public enum Charts {
    static let palette = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#57606a"]

    /// `colour` indexes a fixed palette, so a region keeps its colour from chart to chart. The y
    /// axis runs from 0 to the smallest of 10 %, 20 %, 50 % or 100 % that holds every value.
    public static func optOutChart(title: String, points: [Micros], series: [(label: String, colour: Int, values: [Double?])]) -> String {
        let top = series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0
        let scale = [0.1, 0.2, 0.5, 1.0].first { top <= $0 } ?? 1.0
        let w = 640.0, h = 260.0, left = 48.0, right = 24.0, topMargin = 28.0, bottom = 36.0
        let plotW = w - left - right, plotH = h - topMargin - bottom
        func x(_ i: Int) -> Double { points.count < 2 ? left + plotW / 2 : left + plotW * Double(i) / Double(points.count - 1) }
        func y(_ v: Double) -> Double { topMargin + plotH * (1 - v / scale) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = ##"<svg class="chart" role="img" viewBox="0 0 \##(Int(w)) \##(Int(h) + 24 * ((series.count + 3) / 4))" xmlns="http://www.w3.org/2000/svg" aria-labelledby="t-\##(HTML.escape(slug(title)))">"##
        svg += ##"<title id="t-\##(HTML.escape(slug(title)))">\##(HTML.escape(title))</title>"##
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0].map({ $0 * scale }) {
            svg += ##"<line x1="\##(f(left))" x2="\##(f(w - right))" y1="\##(f(y(tick)))" y2="\##(f(y(tick)))" stroke="#d0d7de" stroke-width="1"/>"##
            svg += ##"<text x="\##(f(left - 6))" y="\##(f(y(tick) + 4))" text-anchor="end" font-size="11" fill="#57606a">\##(String(format: tick * 100 < 10 && tick > 0 ? "%.1f" : "%.0f", tick * 100))%</text>"##
        }
        for (i, t) in points.enumerated() where i == 0 || i == points.count - 1 || i % 3 == 0 {
            let label = String(Time.formatRFC3339(t).prefix(7))
            let anchor = i == points.count - 1 && points.count > 1 ? "end" : (i == 0 ? "start" : "middle")
            svg += ##"<text x="\##(f(x(i)))" y="\##(f(h - bottom + 16))" text-anchor="\##(anchor)" font-size="11" fill="#57606a">\##(label)</text>"##
        }
        for (k, s) in series.enumerated() {
            let colour = palette[s.colour % palette.count]
            var path = ""
            var pen = false
            for (i, v) in s.values.enumerated() {
                guard let v else { pen = false; continue }
                path += (pen ? " L" : " M") + "\(f(x(i))) \(f(y(v)))"
                pen = true
            }
            if !path.isEmpty {
                svg += ##"<path d="\##(path.dropFirst())" fill="none" stroke="\##(colour)" stroke-width="2"/>"##
            }
            for (i, v) in s.values.enumerated() {
                guard let v else { continue }
                let when = Time.formatRFC3339(points[i])
                svg += ##"<circle cx="\##(f(x(i)))" cy="\##(f(y(v)))" r="3" fill="\##(colour)" data-region="\##(HTML.escape(s.label))" data-time="\##(when)" data-share="\##(ComplianceReport.share(v))">"##
                svg += "<title>\(HTML.escape(s.label)), \(when.prefix(10)): \(String(format: "%.1f", v * 100)) % opted out</title></circle>"
            }
            let lx = left + Double(k % 4) * 150, ly = h + 24 * Double(k / 4)
            svg += ##"<rect x="\##(f(lx))" y="\##(f(ly - 10))" width="12" height="12" fill="\##(colour)"/>"##
            svg += ##"<text x="\##(f(lx + 18))" y="\##(f(ly))" font-size="12" fill="#24292f">\##(HTML.escape(s.label))</text>"##
        }
        return svg + "</svg>"
    }

    static func slug(_ s: String) -> String {
        String(s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
