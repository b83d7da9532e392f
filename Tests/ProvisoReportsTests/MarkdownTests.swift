import Testing
import ProvisoReports

@Suite struct MarkdownTests {
    @Test func headingsListsAndInlineMarkupRender() {
        let html = Markdown.html("""
            # Social media policy

            Be **careful** with *what* you share.
            Use `#work` tags.

            - one
            - two
            1. first
            2. second
            See [our guide](https://example.com/guide).
            """)
        #expect(html.contains("<h3>Social media policy</h3>"))
        #expect(html.contains("<p>Be <strong>careful</strong> with <em>what</em> you share. Use <code>#work</code> tags.</p>"))
        #expect(html.contains("<ul><li>one</li><li>two</li></ul>"))
        #expect(html.contains("<ol><li>first</li><li>second</li></ol>"))
        #expect(html.contains(#"<a href="https://example.com/guide" rel="nofollow noopener">our guide</a>"#))
    }

    @Test func rawHTMLAndScriptLinksNeverBecomeMarkup() {
        let html = Markdown.html("""
            <script>alert(1)</script> <img src=x onerror=alert(2)>
            [click](javascript:alert(3)) [x](https://a.example/" onmouseover="alert(4))
            """)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("href=\"javascript"))
        #expect(!html.contains("onmouseover=\""))
    }
}
