//! Markdown bodies of posts and updates, as HTML that is safe to embed in a page or a feed,
//! and as plain text for calendars: raw HTML is shown as text, never passed through, and
//! links and images keep only http, https, mailto and relative URLs.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// What a body may use beyond CommonMark.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// CommonMark (with tables and strikethrough) as HTML that is safe to embed.
///
/// Every raw HTML block or inline tag is shown escaped, as the text the author wrote. A link or
/// image whose URL is not http, https, mailto or relative is shown as its text alone. What is left
/// are the elements pulldown-cmark writes for Markdown itself, whose attributes (`href`, `src`,
/// `alt`, `title`, a code block's `class`, a table cell's `text-align`) it escapes.
pub fn render(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(&mut out, Safe::new(Parser::new_ext(markdown, options())));
    out
}

/// The text of a Markdown body without its markup, for plain-text media (calendar
/// descriptions): paragraphs and list items on lines of their own, a link as its text
/// followed by its URL in brackets when the two differ.
pub fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut links: Vec<String> = Vec::new();
    let mut link_text = String::new();
    let break_line = |out: &mut String| {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    };
    for event in Safe::new(Parser::new_ext(markdown, options())) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t);
                if !links.is_empty() {
                    link_text.push_str(&t);
                }
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak | Event::Rule => break_line(&mut out),
            Event::Start(Tag::Item) => {
                break_line(&mut out);
                out.push_str("- ");
            }
            Event::Start(Tag::Link { dest_url, link_type, .. }) => {
                let url = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.into_string(),
                };
                links.push(url);
                link_text.clear();
            }
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    let bare = url.strip_prefix("mailto:").unwrap_or(&url);
                    if link_text.trim() != bare {
                        out.push_str(" (");
                        out.push_str(&url);
                        out.push(')');
                    }
                }
            }
            Event::End(TagEnd::TableCell) => out.push('\t'),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::Item,
            ) => break_line(&mut out),
            Event::End(TagEnd::List(_)) => {}
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

/// Whether a link or image destination may be followed: http, https and mailto URLs, and
/// relative ones (no scheme). Browsers ignore ASCII tabs and line breaks inside URLs and
/// strip leading control characters and spaces, so those are taken out before the scheme
/// is read; entities were already decoded by the parser.
pub fn safe_url(url: &str) -> bool {
    let seen: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect();
    let scheme_end = seen.find([':', '/', '?', '#']);
    match scheme_end {
        Some(i) if seen[i..].starts_with(':') => {
            let scheme = seen[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        // No scheme: a relative URL (a path, a query or a fragment).
        _ => true,
    }
}

/// The parser's events with raw HTML turned into text and unsafe links and images dropped
/// (their text stays).
struct Safe<'a, I> {
    inner: I,
    /// For each open link or image: whether its start was passed on (so its end must be).
    open: Vec<bool>,
    _marker: std::marker::PhantomData<&'a ()>,
}

impl<'a, I: Iterator<Item = Event<'a>>> Safe<'a, I> {
    fn new(inner: I) -> Self {
        Safe { inner, open: Vec::new(), _marker: std::marker::PhantomData }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Safe<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let event = self.inner.next()?;
            return Some(match event {
                // An HTML block becomes a paragraph of its text.
                Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
                Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
                Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
                Event::Start(Tag::Link { ref dest_url, .. } | Tag::Image { ref dest_url, .. }) => {
                    let keep = safe_url(dest_url);
                    self.open.push(keep);
                    if !keep {
                        continue;
                    }
                    event
                }
                Event::End(TagEnd::Link | TagEnd::Image) => {
                    if !self.open.pop().unwrap_or(true) {
                        continue;
                    }
                    event
                }
                // Options not enabled above cannot produce anything else; should they ever be,
                // math and footnotes are text too.
                Event::InlineMath(t) | Event::DisplayMath(t) => Event::Text(t),
                Event::FootnoteReference(t) => Event::Text(CowStr::from(format!("[^{t}]"))),
                other => other,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every tag in `html` is one pulldown-cmark writes for Markdown, with only the attributes
    /// it writes; nothing else in it can be read as markup. Returns the first offence.
    pub(crate) fn markup_offence(html: &str) -> Option<String> {
        const TAGS: &[&str] = &[
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "em",
            "strong",
            "del",
            "a",
            "img",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "hr",
            "br",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
        ];
        const ATTRS: &[&str] = &["href", "src", "alt", "title", "class", "start", "style"];
        let mut rest = html;
        while let Some(i) = rest.find('<') {
            let after = &rest[i + 1..];
            let Some(end) = after.find('>') else { return Some("a < that opens no tag".into()) };
            let tag = &after[..end];
            let tag = tag.strip_prefix('/').unwrap_or(tag).trim_end_matches('/').trim_end();
            let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
            if !TAGS.contains(&name) {
                return Some(format!("tag <{tag}>"));
            }
            loop {
                let a = attrs.trim_start();
                if a.is_empty() {
                    break;
                }
                let Some(eq) = a.find("=\"") else {
                    return Some(format!("attribute without a quoted value in <{tag}>"));
                };
                let attr = &a[..eq];
                if !ATTRS.contains(&attr) {
                    return Some(format!("attribute {attr} in <{tag}>"));
                }
                let value_on = &a[eq + 2..];
                let Some(close) = value_on.find('"') else { return Some(format!("unclosed attribute in <{tag}>")) };
                let value = &value_on[..close];
                if attr == "style" && !value.starts_with("text-align: ") {
                    return Some(format!("style {value}"));
                }
                if matches!(attr, "href" | "src") && !safe_url(&value.replace("&amp;", "&")) {
                    return Some(format!("url {value}"));
                }
                attrs = &value_on[close + 1..];
            }
            rest = &after[end + 1..];
        }
        None
    }

    fn assert_safe(html: &str) {
        if let Some(o) = markup_offence(html) {
            panic!("{o} in {html}");
        }
    }

    /// Renders `markdown`, checks the HTML is safe and holds every one of `parts`.
    fn renders(markdown: &str, parts: &[&str]) -> String {
        let html = render(markdown);
        assert_safe(&html);
        for part in parts {
            assert!(html.contains(part), "{part:?} not in {html}");
        }
        html
    }

    #[test]
    fn markdown_shows_script_tags_as_text() {
        let html = render("Hello <script>alert(1)</script> world\n\n<script>\nalert(2)\n</script>\n");
        assert_safe(&html);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt; world"), "{html}");
        assert!(html.contains("&lt;script&gt;\nalert(2)\n&lt;/script&gt;"), "{html}");
    }

    #[test]
    fn markdown_shows_html_blocks_and_event_handlers_as_text() {
        let html = render(
            "<img src=x onerror=alert(1)>\n\ntext <a href=\"x\" onclick=\"y()\">a</a>\n\n<div onmouseover=\"z\">d</div>",
        );
        assert_safe(&html);
        assert!(html.contains("<p>&lt;img src=x onerror=alert(1)&gt;"), "{html}");
        assert!(html.contains("&lt;a href=\"x\" onclick=\"y()\"&gt;a&lt;/a&gt;"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        // Comments, processing instructions and CDATA are text too.
        let html = render("a <!-- hidden --> b <?php x ?> <![CDATA[ y ]]>");
        assert_safe(&html);
        assert!(html.contains("&lt;!-- hidden --&gt;"), "{html}");
    }

    #[test]
    fn markdown_drops_script_urls_in_any_spelling() {
        for md in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](&#106;avascript:alert(1))",
            "[x](javascript&colon;alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](%20javascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](VBScript:msgbox)",
            "[x](  javascript:alert(1)  )",
            "[x][r]\n\n[r]: javascript:alert(1)",
            "<javascript:alert(1)>",
            "![x](javascript:alert(1))",
            "![x](data:image/svg+xml,<svg onload=alert(1)>)",
            "[x](\u{1}javascript:alert(1))",
            "[x](file:///etc/passwd)",
        ] {
            let html = render(md);
            assert_safe(&html);
            // Shown as text: no link, no image.
            assert!(!html.contains("href=") && !html.contains("src="), "{md}: {html}");
            assert!(md.starts_with('<') || html.contains('x'), "the text stays: {md}: {html}");
        }
        // Whatever stands before the first colon (before any `/`, `?` or `#`) is taken as a
        // scheme, even where a browser would read a relative path: refusing too much is safe.
        assert!(!safe_url("%20javascript:alert(1)"));
        assert!(safe_url("/a:b") && safe_url("?x=a:b") && safe_url("#a:b") && safe_url("HTTPS://e.example"));
        assert!(!safe_url(" \tjava\nscript:alert(1)"));
        assert!(!safe_url("\u{0}javascript:x"));
    }

    #[test]
    fn markdown_keeps_web_mail_and_relative_links() {
        renders(
            "[a](https://example.com/a?b=1&c=2) [b](http://x.example) [c](mailto:ops@example.com) \
             [d](/posts/3) [e](#top) [f](page?x=1) ![logo](/logo.png \"The logo\")",
            &[
                "<a href=\"https://example.com/a?b=1&amp;c=2\">a</a>",
                "<a href=\"http://x.example\">b</a>",
                "<a href=\"mailto:ops@example.com\">c</a>",
                "<a href=\"/posts/3\">d</a>",
                "<a href=\"#top\">e</a>",
                "<img src=\"/logo.png\" alt=\"logo\" title=\"The logo\" />",
            ],
        );
    }

    #[test]
    fn markdown_autolinks() {
        renders(
            "<https://example.com/x> and <ops@example.com> but <javascript:alert(1)>",
            &[
                "<a href=\"https://example.com/x\">https://example.com/x</a>",
                "<a href=\"mailto:ops@example.com\">ops@example.com</a>",
                "but javascript:alert(1)</p>",
            ],
        );
    }

    #[test]
    fn markdown_nested_emphasis_tables_and_strikethrough() {
        renders(
            "***both*** and *one **two** one* ~~gone~~\n\n| a | b |\n|:-|-:|\n| 1 | <b>2</b> |\n",
            &[
                "<em><strong>both</strong></em>",
                "<em>one <strong>two</strong> one</em>",
                "<del>gone</del>",
                "<table>",
                "<td style=\"text-align: right\">&lt;b&gt;2&lt;/b&gt;</td>",
            ],
        );
    }

    #[test]
    fn markdown_code_shows_html_escaped() {
        let html = render("```html\n<script>alert(1)</script>\n```\n\nand `<b onclick=x>`\n\n    <i>indented</i>\n");
        assert_safe(&html);
        assert!(
            html.contains("<pre><code class=\"language-html\">&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>")
        );
        assert!(html.contains("<code>&lt;b onclick=x&gt;</code>"), "{html}");
        assert!(html.contains("<pre><code>&lt;i&gt;indented&lt;/i&gt;\n</code></pre>"), "{html}");
        // An info string that tries to break out of its attribute stays inside it, escaped.
        let html = render("```\" onmouseover=\"x\n1\n```");
        assert_safe(&html);
    }

    #[test]
    fn markdown_attributes_cannot_be_broken_out_of() {
        let html = render("[x](https://e.example/\"onmouseover=\"alert(1) \"t\\\" onclick=\\\"y\")");
        assert_safe(&html);
        assert!(!html.contains("\" onclick"), "{html}");
    }

    #[test]
    fn markdown_plain_text() {
        let text = plain(
            "# Title\n\nSome *text* with [a link](https://e.example) and <https://f.example>.\n\n- one\n- two <b>\n",
        );
        assert_eq!(text, "Title\nSome text with a link (https://e.example) and https://f.example.\n- one\n- two <b>");
        assert_eq!(plain("[x](javascript:alert(1))"), "x");
    }

    proptest! {
        #[test]
        fn markdown_prop_output_holds_only_markdown_markup(
            s in "([<>\"'=&:/ a-z\\[\\]()!*`#\n-]|javascript:|<script>|onerror=|<img |\\]\\(|<a href=){0,60}"
        ) {
            let html = render(&s);
            prop_assert!(markup_offence(&html).is_none(), "{:?} in {}", markup_offence(&html), html);
        }
    }
}
