//! An email's text, written once as blocks and rendered twice: as plain text and as simple
//! HTML (inline styles, every text escaped with forewarn_status's one escaper), so the two
//! parts cannot say different things.

use std::fmt::Write as _;

use forewarn_model::inventory::Language;
use forewarn_status::escape::Esc;
use forewarn_status::markdown;

/// One part of an email's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// A paragraph of plain text.
    Para(String),
    /// A heading above what follows.
    Heading(String),
    /// Machines with their slots.
    Slots(Vec<Row>),
    /// Labelled facts, one a line: "What happens: …".
    Facts(Vec<(String, String)>),
    /// A link worth its own line: "Status page: https://…".
    Link { label: String, url: String },
    /// Text written by people in Markdown: as written in the text part, rendered (and
    /// sanitised) in the HTML part.
    Markdown(String),
    /// The small print under a rule: why the reader gets this, and a link (unsubscribe).
    Footer { text: String, link: Option<(String, String)> },
}

/// A machine and its slot as a line of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    /// The machine's id.
    pub name: String,
    /// What it is: "project shop, production, on host kvm01".
    pub about: String,
    /// When, in the reader's zone, named; or what happened to the slot.
    pub when: String,
    /// What changed, when something did: "moved; before: …".
    pub note: Option<String>,
}

/// The blocks of one email.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Doc {
    pub blocks: Vec<Block>,
}

impl Doc {
    pub(crate) fn push(&mut self, block: Block) {
        self.blocks.push(block);
    }

    pub(crate) fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }

    pub(crate) fn link(&mut self, label: impl Into<String>, url: impl Into<String>) {
        self.blocks.push(Block::Link { label: label.into(), url: url.into() });
    }

    /// The plain text part.
    pub(crate) fn text(&self) -> String {
        let mut out = String::with_capacity(1024);
        for block in &self.blocks {
            match block {
                Block::Para(t) => {
                    let _ = writeln!(out, "{t}\n");
                }
                Block::Heading(t) => {
                    let _ = writeln!(out, "{t}\n{}\n", "-".repeat(t.chars().count().min(72)));
                }
                Block::Slots(rows) => {
                    for r in rows {
                        if r.about.is_empty() {
                            let _ = writeln!(out, "- {}", r.name);
                        } else {
                            let _ = writeln!(out, "- {} ({})", r.name, r.about);
                        }
                        let _ = writeln!(out, "  {}", r.when);
                        if let Some(n) = &r.note {
                            let _ = writeln!(out, "  {n}");
                        }
                    }
                    out.push('\n');
                }
                Block::Facts(facts) => {
                    for (label, value) in facts {
                        let _ = writeln!(out, "{label}: {value}");
                    }
                    out.push('\n');
                }
                Block::Link { label, url } => {
                    let _ = writeln!(out, "{label}: {url}\n");
                }
                Block::Markdown(md) => {
                    let _ = writeln!(out, "{}\n", md.trim_end());
                }
                Block::Footer { text, link } => {
                    let _ = writeln!(out, "-- \n{text}");
                    if let Some((label, url)) = link {
                        let _ = writeln!(out, "{label}: {url}");
                    }
                    out.push('\n');
                }
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
        out
    }

    /// The HTML part: a whole document, with `title` as its title.
    pub(crate) fn html(&self, lang: Language, title: &str) -> String {
        const P: &str = "margin:0 0 16px 0;";
        const SMALL: &str = "font-size:13px;color:#57606a;";
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n</head>\n\
             <body style=\"margin:0;padding:0;background:#f6f8fa;\">\n\
             <div style=\"max-width:640px;margin:0 auto;padding:24px;background:#ffffff;color:#1f2328;\
             font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;\">\n",
            lang.code(),
            Esc(title)
        );
        for block in &self.blocks {
            match block {
                Block::Para(t) => {
                    let _ = write!(out, "<p style=\"{P}\">");
                    for (i, line) in t.lines().enumerate() {
                        if i > 0 {
                            out.push_str("<br>\n");
                        }
                        let _ = write!(out, "{}", Esc(line));
                    }
                    out.push_str("</p>\n");
                }
                Block::Heading(t) => {
                    let _ = writeln!(out, "<h2 style=\"margin:0 0 12px 0;font-size:19px;\">{}</h2>", Esc(t));
                }
                Block::Slots(rows) => {
                    out.push_str(
                        "<table role=\"presentation\" style=\"border-collapse:collapse;width:100%;margin:0 0 16px 0;\">\n",
                    );
                    for r in rows {
                        out.push_str("<tr>\n");
                        let _ = write!(
                            out,
                            "<td style=\"padding:6px 12px 6px 0;border-top:1px solid #d0d7de;vertical-align:top;\">\
                             <strong>{}</strong>",
                            Esc(&r.name)
                        );
                        if !r.about.is_empty() {
                            let _ = write!(out, "<br>\n<span style=\"{SMALL}\">{}</span>", Esc(&r.about));
                        }
                        out.push_str("</td>\n");
                        let _ = write!(
                            out,
                            "<td style=\"padding:6px 0;border-top:1px solid #d0d7de;vertical-align:top;\">{}",
                            Esc(&r.when)
                        );
                        if let Some(n) = &r.note {
                            let _ = write!(out, "<br>\n<span style=\"{SMALL}\">{}</span>", Esc(n));
                        }
                        out.push_str("</td>\n</tr>\n");
                    }
                    out.push_str("</table>\n");
                }
                Block::Facts(facts) => {
                    let _ = writeln!(out, "<p style=\"{P}\">");
                    for (i, (label, value)) in facts.iter().enumerate() {
                        if i > 0 {
                            out.push_str("<br>\n");
                        }
                        let _ = write!(out, "<strong>{}:</strong> {}", Esc(label), Esc(value));
                    }
                    out.push_str("\n</p>\n");
                }
                Block::Link { label, url } => {
                    let _ = writeln!(
                        out,
                        "<p style=\"{P}\">{}: <a href=\"{}\" style=\"color:#0969da;\">{}</a></p>",
                        Esc(label),
                        Esc(url),
                        Esc(url)
                    );
                }
                Block::Markdown(md) => {
                    let _ = writeln!(
                        out,
                        "<div style=\"margin:0 0 16px 0;padding:0 0 0 12px;border-left:3px solid #d0d7de;\">\n{}</div>",
                        markdown::render(md)
                    );
                }
                Block::Footer { text, link } => {
                    let _ = write!(
                        out,
                        "<hr style=\"border:0;border-top:1px solid #d0d7de;margin:24px 0 12px 0;\">\n\
                         <p style=\"margin:0;{SMALL}\">{}",
                        Esc(text)
                    );
                    if let Some((label, url)) = link {
                        let _ =
                            write!(out, "<br>\n<a href=\"{}\" style=\"color:#57606a;\">{}</a>", Esc(url), Esc(label));
                    }
                    out.push_str("</p>\n");
                }
            }
        }
        out.push_str("</div>\n</body>\n</html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_text_and_html_say_the_same_and_escape_everything() {
        let mut d = Doc::default();
        d.para("Hello <Jana> & Co,");
        d.push(Block::Slots(vec![Row {
            name: "web-01".into(),
            about: "project shop".into(),
            when: "Tue 2 Mar 2027 23:00–23:30 CET (Europe/Berlin)".into(),
            note: Some("moved".into()),
        }]));
        d.push(Block::Markdown("**bold** <script>x</script>".into()));
        d.link("Status page", "https://s.example/posts/1?a=1&b=2");
        d.push(Block::Footer { text: "Why".into(), link: Some(("Unsubscribe".into(), "https://s.example/u".into())) });
        let text = d.text();
        assert!(text.starts_with("Hello <Jana> & Co,\n\n- web-01 (project shop)\n  Tue 2 Mar"), "{text}");
        assert!(text.contains("**bold** <script>x</script>\n"), "{text}");
        assert!(text.contains("\n-- \nWhy\nUnsubscribe: https://s.example/u\n"), "{text}");
        let html = d.html(Language::En, "T <1>");
        assert!(html.contains("<title>T &lt;1&gt;</title>"));
        assert!(html.contains("Hello &lt;Jana&gt; &amp; Co,"));
        assert!(html.contains("<strong>bold</strong> &lt;script&gt;x&lt;/script&gt;"), "{html}");
        assert!(html.contains("href=\"https://s.example/posts/1?a=1&amp;b=2\""));
        assert!(!html.contains("<script"));
    }
}
