//! The public status pages, server-rendered as pure functions of one view struct each: the
//! front page, a post, the history. They share one layout (no JavaScript, no external
//! resources, readable on a phone) and escape every text that comes from data.
//!
//! Stable hooks for browser tests: `#overall[data-status]`, `#components`,
//! `.component[data-status][data-kind]`, `#ongoing`, `#upcoming`, `#incidents`, `#notices`,
//! `.post[data-kind][data-state]`, `.window[data-starts][data-ends]`, `#post`, `#body`,
//! `#affected`, `#timeline`, `.update[data-state]`, `#corrections`, `.correction`, `#history`,
//! `.month`, `.badge.impact[data-impact]`, `.replaced-by a[data-post]`, `.replaces a[data-post]`.

mod history;
mod index;
mod post;

pub use history::{HISTORY_PAGE_SIZE, HistoryView, history};
pub use index::{IndexView, index};
pub use post::{PostView, post, post_article};

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::atom::kind_title;
use crate::escape::Esc;
use crate::post::{Component, Impact, Post, PostKind};
use crate::site::Site;
use crate::{status, when};

/// A page that is not there, in the site's layout (for a 404 answer).
pub fn not_found(site: &Site, now: Timestamp) -> String {
    let main = format!(
        "<h1>Not found</h1>\n<p>There is no such page. The <a href=\"{}\">status overview</a> lists current and \
         upcoming maintenance.</p>\n",
        Esc(&site.path("/"))
    );
    layout(site, now, "Not found", &main)
}

/// A page that only says what went wrong, in the site's layout (`message` is text).
pub fn error_page(site: &Site, now: Timestamp, title: &str, message: &str) -> String {
    let main = format!(
        "<h1>{}</h1>\n<p>{} The <a href=\"{}\">status overview</a> lists current and upcoming maintenance.</p>\n",
        Esc(title),
        Esc(message),
        Esc(&site.path("/"))
    );
    layout(site, now, title, &main)
}

const CSS: &str = "\
:root{--fg:#1b1f24;--muted:#57606a;--line:#d8dee4;--bg:#f6f8fa;--card:#fff;--link:#0a58ca;\
--ok:#1a7f37;--maint:#0a58ca;--warn:#9a6700;--partial:#bc4c00;--bad:#cf222e}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,\
\"Helvetica Neue\",Arial,sans-serif}
a{color:var(--link)}
.wrap{max-width:48rem;margin:0 auto;padding:0 1rem}
header.site{background:var(--card);border-bottom:1px solid var(--line)}
header.site .wrap{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;\
gap:.25rem 1rem;padding-top:.8rem;padding-bottom:.8rem}
.brand{font-weight:700;font-size:1.15rem;color:var(--fg);text-decoration:none}
nav{display:flex;flex-wrap:wrap;gap:0 1rem}nav a{white-space:nowrap}
main.wrap{padding-top:1.25rem;padding-bottom:2.5rem}
h1{font-size:1.55rem;line-height:1.25;margin:.25rem 0 .75rem}
h2{font-size:1.15rem;margin:2rem 0 .6rem}
h3{font-size:1rem;margin:0}
.overall{border-radius:8px;padding:1rem 1.1rem;color:#fff;background:var(--ok)}
.overall h1{margin:0;font-size:1.3rem}.overall p{margin:.2rem 0 0}
.overall[data-status=maintenance]{background:var(--maint)}.overall[data-status=degraded]{background:var(--warn)}
.overall[data-status=partial_outage]{background:var(--partial)}.overall[data-status=major_outage]{background:var(--bad)}
ul.components{list-style:none;margin:0 0 1rem;padding:0;background:var(--card);border:1px solid var(--line);\
border-radius:8px}
li.component{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.1rem 1rem;padding:.55rem .9rem;\
border-top:1px solid var(--line)}
li.component:first-child{border-top:0}
h3.group{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:1rem 0 .35rem}
.status{font-size:.92rem;font-weight:600;color:var(--ok);margin-left:auto}
.status::before{content:\"\";display:inline-block;width:.6rem;height:.6rem;border-radius:50%;\
margin-right:.4rem;background:currentColor}
[data-status=maintenance]>.status{color:var(--maint)}[data-status=degraded]>.status{color:var(--warn)}
[data-status=partial_outage]>.status{color:var(--partial)}[data-status=major_outage]>.status{color:var(--bad)}
article.post{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--maint);\
border-radius:8px;padding:.75rem 1rem;margin:0 0 .7rem}
article.post[data-kind=incident]{border-left-color:var(--bad)}article.post[data-kind=notice]{border-left-color:var(--muted)}
article.post h3 a{text-decoration:none}article.post h3 a:hover{text-decoration:underline}
article.post[data-state=cancelled] h3 a{text-decoration:line-through}
.meta{color:var(--muted);font-size:.92rem;margin:.3rem 0 0}
.badge{display:inline-block;font-size:.78rem;font-weight:600;line-height:1.5;padding:0 .5rem;border-radius:999px;\
background:#eaeef2;color:var(--fg);margin-right:.35rem;vertical-align:1px}
.badge.kind{background:#ddf4ff;color:#0a3069}.badge.kind[data-kind=incident]{background:#ffebe9;color:#82071e}
.badge.kind[data-kind=notice]{background:#eaeef2}
.badge[data-state=cancelled]{background:#ffebe9;color:#82071e}.badge[data-state=in_progress],\
.badge[data-state=investigating],.badge[data-state=identified]{background:#fff8c5;color:#4d2d00}
.badge[data-state=completed],.badge[data-state=resolved]{background:#dafbe1;color:#044f1e}
.badge.impact{background:#fff1e5;color:#762c00}.badge.impact[data-impact=critical]{background:#ffebe9;color:#82071e}
.replaced-by,.replaces{margin:.3rem 0 0}
.empty{color:var(--muted);margin:0}
.body{overflow-wrap:anywhere}.body img{max-width:100%;height:auto}
.body pre{overflow-x:auto;background:#eef1f4;padding:.6rem .8rem;border-radius:6px;font-size:.9rem}
.body table{border-collapse:collapse;display:block;overflow-x:auto}
.body th,.body td{border:1px solid var(--line);padding:.25rem .5rem}
.body blockquote{margin:0;padding-left:.9rem;border-left:3px solid var(--line);color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.9rem 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.9rem 1.1rem}
.body>:first-child{margin-top:0}.body>:last-child{margin-bottom:0}
ol.timeline{list-style:none;margin:0;padding:0 0 0 1rem;border-left:2px solid var(--line)}
li.update{position:relative;margin:0 0 1.1rem}
li.update::before{content:\"\";position:absolute;left:calc(-1.45rem - 1px);top:.4rem;width:.9rem;height:.9rem;\
border-radius:50%;background:var(--card);border:2px solid var(--muted)}
li.update .body p{margin:.3rem 0}
.correction{background:#fff8e6;border:1px solid #eed28a;border-radius:8px;padding:.6rem .9rem;margin:0 0 .7rem}
.correction p{margin:0}
details{margin-top:.5rem}summary{cursor:pointer;color:var(--link)}
details .before{margin-top:.5rem;padding:.5rem .8rem;background:var(--card);border-radius:6px;\
border:1px dashed var(--line)}
.corrected-note{margin:.5rem 0;font-size:.95rem}
.month{margin-top:1.5rem}
.pager{display:flex;justify-content:space-between;margin-top:1.5rem}
footer{border-top:1px solid var(--line);color:var(--muted);font-size:.9rem;padding:1rem 0 2rem}
footer p{margin:.2rem 0}
@media (max-width:32rem){article.post .window{display:block;margin-top:.15rem}}
";

/// What surrounds a page's main part besides the site: its title, where the site's name in
/// the header leads, the header's links, and style of its own. The public pages use
/// [`Frame::public`]; the admin pages bring their own links and style.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// The page's own title; `<title>` reads "TITLE · SITE SUFFIX".
    pub title: &'a str,
    /// After the site's name in `<title>`: "status", "admin".
    pub suffix: &'a str,
    /// The path (below the site's base) the site's name in the header links to.
    pub home: &'a str,
    /// The header's links as HTML, every text in it escaped by the caller; `None`: the public
    /// pages' links (history, feed, calendar).
    pub nav: Option<&'a str>,
    /// Style sheet text added after the shared one.
    pub css: &'a str,
}

impl<'a> Frame<'a> {
    /// The frame of the public pages.
    pub fn public(title: &'a str) -> Frame<'a> {
        Frame { title, suffix: "status", home: "/", nav: None, css: "" }
    }
}

/// The whole page around `main` (HTML) in the public pages' frame.
pub(crate) fn layout(site: &Site, now: Timestamp, title: &str, main: &str) -> String {
    page(site, now, &Frame::public(title), main)
}

/// The whole page around `main` (HTML): head with the shared style, header with the site's
/// name and the frame's links, footer naming the zone times are shown in.
pub fn page(site: &Site, now: Timestamp, frame: &Frame<'_>, main: &str) -> String {
    let mut out = String::with_capacity(CSS.len() + frame.css.len() + main.len() + 2048);
    let name = Esc(&site.name);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // No icon: browsers then do not ask for /favicon.ico on every page.
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light\">\n");
    let _ = writeln!(out, "<title>{} · {name} {}</title>", Esc(frame.title), Esc(frame.suffix));
    let _ = writeln!(
        out,
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{name} status\" href=\"{}\">",
        Esc(&site.path("/feed.atom"))
    );
    let _ = writeln!(
        out,
        "<link rel=\"alternate\" type=\"text/calendar\" title=\"{name} maintenance\" href=\"{}\">",
        Esc(&site.path("/calendar.ics"))
    );
    let _ = writeln!(out, "<style>\n{CSS}{}</style>\n</head>\n<body>", frame.css);
    let _ = write!(
        out,
        "<header class=\"site\"><div class=\"wrap\"><a class=\"brand\" href=\"{}\">{name}</a>\n<nav>",
        Esc(&site.path(frame.home))
    );
    match frame.nav {
        Some(nav) => out.push_str(nav),
        None => {
            let _ = write!(
                out,
                "<a href=\"{}\">History</a><a href=\"{}\">Email</a><a href=\"{}\">Atom feed</a>\
                 <a href=\"{}\">Calendar</a>",
                Esc(&site.path("/history")),
                Esc(&site.path("/subscribe")),
                Esc(&site.path("/feed.atom")),
                Esc(&site.path("/calendar.ics"))
            );
        }
    }
    out.push_str("</nav></div></header>\n");
    let _ = writeln!(out, "<main class=\"wrap\">\n{main}</main>");
    let _ = writeln!(
        out,
        "<footer><div class=\"wrap\"><p>Times are shown in {} ({}).</p>\n<p>Get <a \
         href=\"{}\">updates by email</a>, follow the <a href=\"{}\">Atom feed</a> or subscribe to the <a href=\"{}\">\
         maintenance calendar</a>.</p></div></footer>",
        Esc(&when::abbreviation(now, &site.zone)),
        Esc(site.zone.name()),
        Esc(&site.path("/subscribe")),
        Esc(&site.path("/feed.atom")),
        Esc(&site.path("/calendar.ics"))
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// `<span class="window" data-starts=… data-ends=…>Sat 9 Mar 2013 10:00–14:00 CET</span>`, or
/// nothing when the post has no times.
pub fn window_html(out: &mut String, starts: Option<Timestamp>, ends: Option<Timestamp>, site: &Site) {
    let Some(words) = when::window(starts, ends, &site.zone) else { return };
    out.push_str("<span class=\"window\"");
    for (name, t) in [("starts", starts), ("ends", ends)] {
        if let Some(t) = t {
            let _ = write!(out, " data-{name}=\"{}\"", when::rfc3339(t));
        }
    }
    let _ = write!(out, ">{}</span>", Esc(&words));
}

/// `<time datetime=…>Mon 4 Mar 2013 09:12 CET</time>`.
pub fn time_html(out: &mut String, t: Timestamp, site: &Site) {
    let _ = write!(out, "<time datetime=\"{}\">{}</time>", when::rfc3339(t), Esc(&when::moment(t, &site.zone)));
}

/// The kind and state of a post as badges, and an incident's impact.
pub fn badges(out: &mut String, p: &Post) {
    let _ = write!(out, "<span class=\"badge kind\" data-kind=\"{}\">{}</span>", p.kind.name(), kind_title(p.kind));
    // A notice has one state only: nothing to tell.
    if p.kind != PostKind::Notice {
        let _ = write!(out, "<span class=\"badge state\" data-state=\"{}\">{}</span>", p.state.name(), p.state.label());
    }
    if p.kind == PostKind::Incident && p.impact != Impact::None {
        let _ = write!(
            out,
            "<span class=\"badge impact\" data-impact=\"{}\">{}</span>",
            p.impact.name(),
            status::impact_label(p.impact)
        );
    }
}

/// The post that replaces `p` (names it in `replaces`), if any among `posts`.
pub fn replaced_by<'a>(p: &Post, posts: &'a [Post]) -> Option<&'a Post> {
    posts.iter().filter(|o| o.replaces == Some(p.id)).max_by_key(|o| o.id)
}

/// `<p class="replaced-by">Replaced by <a …>TITLE</a></p>` and `Replaces <a …>TITLE</a>` as
/// they apply: `replaces` the post `p` replaces, `replaced_by` the one replacing it.
pub fn replacement_links(out: &mut String, site: &Site, replaces: Option<&Post>, replaced_by: Option<&Post>) {
    for (class, words, other) in [("replaced-by", "Replaced by", replaced_by), ("replaces", "Replaces", replaces)] {
        if let Some(o) = other {
            let _ = write!(
                out,
                "<p class=\"meta {class}\">{words} <a href=\"{}\" data-post=\"{}\">{}</a>",
                Esc(&site.path(&format!("/posts/{}", o.id))),
                o.id,
                Esc(&o.title)
            );
            if o.kind != PostKind::Notice {
                let _ = write!(out, " ({})", o.state.label());
            }
            if o.starts.is_some() || o.ends.is_some() {
                out.push_str(", ");
                window_html(out, o.starts, o.ends, site);
            }
            out.push_str("</p>\n");
        }
    }
}

/// A sentence's end after a text that may have its own.
pub(crate) fn full_stop(text: &str) -> &'static str {
    if text.trim_end().ends_with(['.', '!', '?']) { "" } else { "." }
}

/// A component's name by its id, or the id itself when the list does not have it.
pub(crate) fn component_name<'a>(components: &'a [Component], id: &'a str) -> &'a str {
    components.iter().find(|c| c.id == id).map_or(id, |c| c.name.as_str())
}

/// A post as one card of a list: title linking to its page, badges, window, affected
/// components, and the posts it replaces or is replaced by (found among `posts`).
pub(crate) fn post_card(out: &mut String, site: &Site, p: &Post, components: &[Component], posts: &[Post]) {
    let _ = write!(
        out,
        "<article class=\"post\" id=\"post-{}\" data-kind=\"{}\" data-state=\"{}\">\n<h3><a href=\"{}\">{}</a></h3>\n\
         <p class=\"meta\">",
        p.id,
        p.kind.name(),
        p.state.name(),
        Esc(&site.path(&format!("/posts/{}", p.id))),
        Esc(&p.title)
    );
    badges(out, p);
    window_html(out, p.starts, p.ends, site);
    out.push_str("</p>\n");
    if !p.components.is_empty() {
        let names: Vec<&str> = p.components.iter().map(|id| component_name(components, id)).collect();
        let _ = writeln!(out, "<p class=\"meta affects\">Affects {}</p>", Esc(&names.join(", ")));
    }
    let replaces = p.replaces.and_then(|id| posts.iter().find(|o| o.id == id));
    replacement_links(out, site, replaces, replaced_by(p, posts));
    out.push_str("</article>\n");
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing;

    /// Checks that `html` is a whole page: doctype, one html/head/body, balanced elements.
    pub(crate) fn assert_page(html: &str) {
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"), "{html}");
        assert!(html.ends_with("</body>\n</html>\n"));
        for tag in
            ["main", "header", "footer", "section", "article", "ul", "ol", "li", "p", "details", "dl", "h1", "h2"]
        {
            let open = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
            let close = html.matches(&format!("</{tag}>")).count();
            assert_eq!(open, close, "<{tag}> opened {open} times, closed {close} times");
        }
        // Every tag is one the pages write: no script, frame or object, no event handler, no
        // resource from elsewhere. (Text holds no `<`: it is escaped.)
        for (i, _) in html.match_indices('<') {
            let tag = &html[i + 1..i + 1 + html[i..].find('>').expect("a closed tag") - 1];
            let name = tag.trim_start_matches('/').split([' ', '\n']).next().unwrap_or("");
            assert!(
                !["script", "iframe", "object", "embed", "img", "form", "base"].contains(&name) || tag.starts_with('/'),
                "<{tag}> in {html}"
            );
            let mut attrs = tag;
            while let Some(eq) = attrs.find('=') {
                let attr = attrs[..eq].rsplit([' ', '\n']).next().unwrap_or("");
                assert!(!attr.to_ascii_lowercase().starts_with("on"), "event handler {attr} in <{tag}>");
                assert!(!["src", "srcdoc", "formaction"].contains(&attr), "<{tag}> loads something");
                // Past the quoted value.
                let value = &attrs[eq + 1..];
                let quoted = value.strip_prefix('"').expect("quoted attribute values");
                attrs = &quoted[quoted.find('"').expect("a closing quote") + 1..];
            }
        }
    }

    #[test]
    fn pages_layout_links_feeds_and_names_the_zone() {
        let site = testing::site();
        let html = layout(&site, testing::now(), "Title <x>", "<p>main</p>\n");
        assert_page(&html);
        assert!(html.contains("<title>Title &lt;x&gt; · Lindenau Hosting status</title>"), "{html}");
        assert!(html.contains("<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Lindenau Hosting status\" href=\"/feed.atom\">"));
        assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
        assert!(html.contains("<a class=\"brand\" href=\"/\">Lindenau Hosting</a>"));
        assert!(html.contains("href=\"/calendar.ics\""));
        assert!(html.contains("Times are shown in CET (Europe/Berlin)."));
        // Below a path, links keep it.
        let mut below = site.clone();
        below.base_url = "https://lindenau.example/status".into();
        assert!(layout(&below, testing::now(), "t", "").contains("<a class=\"brand\" href=\"/status/\">"));
        let missing = not_found(&site, testing::now());
        assert_page(&missing);
        let wrong = error_page(&site, testing::now(), "Method <not> allowed", "`/` does not take DELETE & more.");
        assert_page(&wrong);
        assert!(wrong.contains("<h1>Method &lt;not&gt; allowed</h1>\n<p>`/` does not take DELETE &amp; more. The"));
    }
}
