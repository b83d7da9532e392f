/// A small, safe Markdown renderer for organisations' social-media policies: headings, paragraphs,
/// bullet and numbered lists, **bold**, *italic*, `code` and [links](https://…). Every piece of
/// text is HTML-escaped first and raw HTML is never passed through; links keep only http,
/// https and mailto targets, so an admin's policy cannot run script in a member's browser.
public enum Markdown {
    public static func html(_ source: String) -> String {
        var out = ""
        var paragraph: [String] = []
        var list: (ordered: Bool, items: [String])?

        func flushParagraph() {
            if !paragraph.isEmpty { out += "<p>" + inline(paragraph.joined(separator: " ")) + "</p>\n" }
            paragraph = []
        }
        func flushList() {
            if let l = list {
                let tag = l.ordered ? "ol" : "ul"
                out += "<\(tag)>" + l.items.map { "<li>" + inline($0) + "</li>" }.joined() + "</\(tag)>\n"
            }
            list = nil
        }

        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty { flushParagraph(); flushList(); continue }
            if let level = heading(line) {
                flushParagraph(); flushList()
                let text = line.drop { $0 == "#" }.trimmingCharacters(in: " \t")
                out += "<h\(level + 2)>" + inline(text) + "</h\(level + 2)>\n"
            } else if let item = bullet(line) {
                flushParagraph()
                if list?.ordered != false { flushList(); list = (false, []) }
                list!.items.append(item)
            } else if let item = numbered(line) {
                flushParagraph()
                if list?.ordered != true { flushList(); list = (true, []) }
                list!.items.append(item)
            } else {
                flushList()
                paragraph.append(line)
            }
        }
        flushParagraph()
        flushList()
        return out
    }

    /// `#`…`####` followed by a space: level 1–4 (rendered h3–h6 under the page's own headings).
    static func heading(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...4).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return hashes
    }

    static func bullet(_ line: String) -> String? {
        guard line.count > 2, ["- ", "* ", "+ "].contains(String(line.prefix(2))) else { return nil }
        return String(line.dropFirst(2))
    }

    static func numbered(_ line: String) -> String? {
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 3, line.dropFirst(digits.count).hasPrefix(". ") else { return nil }
        return String(line.dropFirst(digits.count + 2))
    }

    /// Inline markup over escaped text.
    static func inline(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let c = rest.first {
            if c == "`", let end = rest.dropFirst().firstIndex(of: "`") {
                out += "<code>" + HTML.escape(rest[rest.index(after: rest.startIndex)..<end]) + "</code>"
                rest = rest[rest.index(after: end)...]
            } else if rest.hasPrefix("**"), let end = rest.dropFirst(2).range(of: "**") {
                out += "<strong>" + inline(String(rest[rest.index(rest.startIndex, offsetBy: 2)..<end.lowerBound])) + "</strong>"
                rest = rest[end.upperBound...]
            } else if c == "*", let end = rest.dropFirst().firstIndex(of: "*"), end > rest.index(after: rest.startIndex) {
                out += "<em>" + inline(String(rest[rest.index(after: rest.startIndex)..<end])) + "</em>"
                rest = rest[rest.index(after: end)...]
            } else if c == "[", let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix("("),
                      let paren = rest[close...].firstIndex(of: ")") {
                let label = String(rest[rest.index(after: rest.startIndex)..<close])
                let target = String(rest[rest.index(close, offsetBy: 2)..<paren]).trimmingCharacters(in: " ")
                if isSafeLink(target) {
                    out += "<a href=\"" + HTML.escape(target) + "\" rel=\"nofollow noopener\">" + inline(label) + "</a>"
                } else {
                    out += inline(label)
                }
                rest = rest[rest.index(after: paren)...]
            } else {
                out += HTML.escape(String(c))
                rest = rest.dropFirst()
            }
        }
        return out
    }

    static func isSafeLink(_ target: String) -> Bool {
        let lower = target.lowercased()
        return (lower.hasPrefix("https://") || lower.hasPrefix("http://") || lower.hasPrefix("mailto:"))
            && !target.contains { $0 == "\"" || $0 == "<" || $0 == ">" || $0.isWhitespace }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
