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

use jiff::Timestamp;
use maud::{Markup, PreEscaped, html};

use crate::atom::kind_title;
use crate::post::{Component, Impact, Post, PostKind};
use crate::site::Site;
use crate::{status, when};

/// A page that is not there, in the site's layout (for a 404 answer).
pub fn not_found(site: &Site, now: Timestamp) -> String {
    let main = html! {
        h1 { "Not found" } "\n"
        p {
            "There is no such page. The " a href=(site.path("/")) { "status overview" }
            " lists current and upcoming maintenance."
        } "\n"
    };
    layout(site, now, "Not found", main)
}

/// A page that only says what went wrong, in the site's layout (`message` is text).
pub fn error_page(site: &Site, now: Timestamp, title: &str, message: &str) -> String {
    let main = html! {
        h1 { (title) } "\n"
        p {
            (message) " The " a href=(site.path("/")) { "status overview" }
            " lists current and upcoming maintenance."
        } "\n"
    };
    layout(site, now, title, main)
}

/// The style of every page, public and admin; inline in each page, as the Content-Security-
/// Policy allows (`style-src 'unsafe-inline'`, no other source).
const CSS: &str = include_str!("pages.css");

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
    /// The header's links; `None`: the public pages' links (history, feed, calendar).
    pub nav: Option<&'a Markup>,
    /// Style sheet text added after the shared one: a constant of the code, never data.
    pub css: &'a str,
}

impl<'a> Frame<'a> {
    /// The frame of the public pages.
    pub fn public(title: &'a str) -> Frame<'a> {
        Frame { title, suffix: "status", home: "/", nav: None, css: "" }
    }
}

/// The whole page around `main` in the public pages' frame.
pub(crate) fn layout(site: &Site, now: Timestamp, title: &str, main: Markup) -> String {
    page(site, now, &Frame::public(title), main)
}

/// The whole page around `main`: head with the shared style, header with the site's name and
/// the frame's links, footer naming the zone times are shown in.
pub fn page(site: &Site, now: Timestamp, frame: &Frame<'_>, main: Markup) -> String {
    let name = site.name.as_str();
    let markup = html! {
        // A constant: the doctype as the pages have always written it (lower case).
        (PreEscaped("<!doctype html>\n"))
        html lang="en" {
            "\n"
            head {
                "\n"
                meta charset="utf-8"; "\n"
                meta name="viewport" content="width=device-width, initial-scale=1"; "\n"
                // No icon: browsers then do not ask for /favicon.ico on every page.
                link rel="icon" href="data:,"; "\n"
                meta name="color-scheme" content="light"; "\n"
                title { (frame.title) " · " (name) " " (frame.suffix) } "\n"
                link rel="alternate" type="application/atom+xml" title={ (name) " status" }
                    href=(site.path("/feed.atom")); "\n"
                link rel="alternate" type="text/calendar" title={ (name) " maintenance" }
                    href=(site.path("/calendar.ics")); "\n"
                // Style sheets are constants of the code (this file's and the admin pages'),
                // never data; escaping would break their quotes and `>` selectors.
                style { "\n" (PreEscaped(CSS)) (PreEscaped(frame.css)) } "\n"
            } "\n"
            body {
                header class="site" { div class="wrap" {
                    a class="brand" href=(site.path(frame.home)) { (name) } "\n"
                    nav {
                        @match frame.nav {
                            Some(nav) => (nav),
                            None => {
                                a href=(site.path("/history")) { "History" }
                                a href=(site.path("/subscribe")) { "Email" }
                                a href=(site.path("/feed.atom")) { "Atom feed" }
                                a href=(site.path("/calendar.ics")) { "Calendar" }
                            }
                        }
                    }
                } } "\n"
                main class="wrap" { "\n" (main) } "\n"
                footer { div class="wrap" {
                    p {
                        "Times are shown in " (when::abbreviation(now, &site.zone)) " (" (site.zone.name()) ")."
                    } "\n"
                    p {
                        "Get " a href=(site.path("/subscribe")) { "updates by email" } ", follow the "
                        a href=(site.path("/feed.atom")) { "Atom feed" } " or subscribe to the "
                        a href=(site.path("/calendar.ics")) { "maintenance calendar" } "."
                    }
                } } "\n"
            } "\n"
        } "\n"
    };
    markup.into_string()
}

/// `<span class="window" data-starts=… data-ends=…>Sat 9 Mar 2013 10:00–14:00 CET</span>`, or
/// nothing when the post has no times.
pub fn window(starts: Option<Timestamp>, ends: Option<Timestamp>, site: &Site) -> Markup {
    html! {
        @if let Some(words) = when::window(starts, ends, &site.zone) {
            span class="window" data-starts=[starts.map(when::rfc3339)] data-ends=[ends.map(when::rfc3339)] {
                (words)
            }
        }
    }
}

/// `<time datetime=…>Mon 4 Mar 2013 09:12 CET</time>`.
pub fn time(t: Timestamp, site: &Site) -> Markup {
    html! { time datetime=(when::rfc3339(t)) { (when::moment(t, &site.zone)) } }
}

/// The kind and state of a post as badges, and an incident's impact.
pub fn post_badges(p: &Post) -> Markup {
    html! {
        span class="badge kind" data-kind=(p.kind.name()) { (kind_title(p.kind)) }
        // A notice has one state only: nothing to tell.
        @if p.kind != PostKind::Notice {
            span class="badge state" data-state=(p.state.name()) { (p.state.label()) }
        }
        @if p.kind == PostKind::Incident && p.impact != Impact::None {
            span class="badge impact" data-impact=(p.impact.name()) { (status::impact_label(p.impact)) }
        }
    }
}

/// The post that replaces `p` (names it in `replaces`), if any among `posts`.
pub fn replaced_by<'a>(p: &Post, posts: &'a [Post]) -> Option<&'a Post> {
    posts.iter().filter(|o| o.replaces == Some(p.id)).max_by_key(|o| o.id)
}

/// `<p class="replaced-by">Replaced by <a …>TITLE</a></p>` and `Replaces <a …>TITLE</a>` as
/// they apply: `replaces` the post `p` replaces, `replaced_by` the one replacing it.
pub(crate) fn replacement_links(site: &Site, replaces: Option<&Post>, replaced_by: Option<&Post>) -> Markup {
    html! {
        @for (class, words, other) in [("replaced-by", "Replaced by", replaced_by), ("replaces", "Replaces", replaces)] {
            @if let Some(o) = other {
                p class={ "meta " (class) } {
                    (words) " "
                    a href=(site.path(&format!("/posts/{}", o.id))) data-post=(o.id) { (o.title) }
                    @if o.kind != PostKind::Notice { " (" (o.state.label()) ")" }
                    @if o.starts.is_some() || o.ends.is_some() { ", " (window(o.starts, o.ends, site)) }
                } "\n"
            }
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
pub(crate) fn post_card(site: &Site, p: &Post, components: &[Component], posts: &[Post]) -> Markup {
    let replaces = p.replaces.and_then(|id| posts.iter().find(|o| o.id == id));
    html! {
        article class="post" id={ "post-" (p.id) } data-kind=(p.kind.name()) data-state=(p.state.name()) {
            "\n"
            h3 { a href=(site.path(&format!("/posts/{}", p.id))) { (p.title) } } "\n"
            p class="meta" { (post_badges(p)) (window(p.starts, p.ends, site)) } "\n"
            @if !p.components.is_empty() {
                @let names: Vec<&str> = p.components.iter().map(|id| component_name(components, id)).collect();
                p class="meta affects" { "Affects " (names.join(", ")) } "\n"
            }
            (replacement_links(site, replaces, replaced_by(p, posts)))
        } "\n"
    }
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
        let html = layout(&site, testing::now(), "Title <x>", maud::html! { p { "main" } "\n" });
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
        assert!(layout(&below, testing::now(), "t", maud::html! {}).contains("<a class=\"brand\" href=\"/status/\">"));
        let missing = not_found(&site, testing::now());
        assert_page(&missing);
        let wrong = error_page(&site, testing::now(), "Method <not> allowed", "`/` does not take DELETE & more.");
        assert_page(&wrong);
        assert!(wrong.contains("<h1>Method &lt;not&gt; allowed</h1>\n<p>`/` does not take DELETE &amp; more. The"));
    }
}
