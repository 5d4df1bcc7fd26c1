//! A post's page: what, when and what it affects, its text, its timeline of updates newest
//! first, and every correction with how the post read before it.

use std::cmp::Reverse;

use jiff::Timestamp;
use maud::{Markup, PreEscaped, html};

use super::{component_name, full_stop, layout, post_badges, replacement_links, time, window};
use crate::markdown;
use crate::post::{Component, Impact, Post, PostKind, Revision, Update};
use crate::site::Site;

/// What a post's page shows.
#[derive(Clone, Copy, Debug)]
pub struct PostView<'a> {
    pub site: &'a Site,
    pub now: Timestamp,
    pub post: &'a Post,
    /// The post's timeline, in any order.
    pub updates: &'a [Update],
    /// The post's corrections, in any order.
    pub revisions: &'a [Revision],
    /// To name the affected components (ids not found are shown as they are).
    pub components: &'a [Component],
    /// The post this one replaces (its `replaces`), if any.
    pub replaces: Option<&'a Post>,
    /// The post that replaces this one, if any.
    pub replaced_by: Option<&'a Post>,
}

/// A post's page.
pub fn post(v: &PostView<'_>) -> String {
    let main = html! {
        p class="meta" { a href=(v.site.path("/")) { "← Status overview" } } "\n"
        (article(v))
    };
    layout(v.site, v.now, &v.post.title, main)
}

/// A post as its page shows it, without the page around it: `#post` (title, badges, facts,
/// body), `#timeline` and `#corrections`. The admin pages show it too.
pub fn post_article(v: &PostView<'_>) -> Markup {
    article(v)
}

/// Markdown rendered by [`markdown::render`], which shows raw HTML as text and keeps only
/// safe URLs: safe to embed as it is.
fn markdown_html(body: &str) -> Markup {
    PreEscaped(markdown::render(body))
}

fn article(v: &PostView<'_>) -> Markup {
    let (site, p) = (v.site, v.post);
    let mut revisions: Vec<&Revision> = v.revisions.iter().collect();
    revisions.sort_by_key(|r| (Reverse(r.revision), Reverse(r.at)));
    let mut updates: Vec<&Update> = v.updates.iter().collect();
    updates.sort_by_key(|u| (Reverse(u.at), Reverse(u.id)));
    let names: Vec<&str> = p.components.iter().map(|id| component_name(v.components, id)).collect();
    html! {
        article id="post" data-kind=(p.kind.name()) data-state=(p.state.name()) {
            "\n"
            h1 { (p.title) } "\n"
            p class="meta" { (post_badges(p)) } "\n"
            (replacement_links(site, v.replaces, v.replaced_by))
            @if let Some(last) = revisions.first() {
                p class="corrected-note" {
                    "Corrected on " (time(last.at, site)) ": " (last.note) (full_stop(&last.note)) " "
                    a href="#corrections" { "See what changed" } "."
                } "\n"
            }
            dl class="facts" {
                "\n"
                @if p.starts.is_some() || p.ends.is_some() {
                    dt { "When" } dd id="when" { (window(p.starts, p.ends, site)) } "\n"
                }
                @if !p.components.is_empty() {
                    dt { "Affects" } dd id="affected" { (names.join(", ")) } "\n"
                }
                @if p.kind == PostKind::Incident {
                    dt { "Impact" } dd id="impact" data-impact=(p.impact.name()) { (impact_words(p)) } "\n"
                }
                dt { "Posted" } dd { (time(p.created, site)) } "\n"
                @if p.updated != p.created {
                    dt { "Last change" } dd { (time(p.updated, site)) } "\n"
                }
            } "\n"
            div class="body card" id="body" { "\n" (markdown_html(&p.body)) } "\n"
        } "\n"
        section id="timeline" {
            "\n"
            h2 { "Updates" } "\n"
            @if updates.is_empty() {
                p class="empty" { "No updates yet." } "\n"
            } @else {
                ol class="timeline" {
                    "\n"
                    @for u in &updates {
                        li class="update" id={ "update-" (u.id) } data-state=(u.state.map_or("", |s| s.name())) {
                            "\n"
                            p class="meta" {
                                (time(u.at, site))
                                @if let Some(s) = u.state {
                                    " " span class="badge state" data-state=(s.name()) { (s.label()) }
                                }
                            } "\n"
                            div class="body" { "\n" (markdown_html(&u.body)) } "\n"
                        } "\n"
                    }
                } "\n"
            }
        } "\n"
        @if !revisions.is_empty() {
            section id="corrections" {
                "\n"
                h2 { "Corrections" } "\n"
                @for (i, r) in revisions.iter().enumerate() {
                    // How the post read after this correction: as the next correction found it, or as it is.
                    @let after = match i {
                        0 => (p.title.as_str(), p.body.as_str(), p.starts, p.ends),
                        _ => {
                            let n = revisions[i - 1];
                            (n.title.as_str(), n.body.as_str(), n.starts, n.ends)
                        }
                    };
                    (correction(site, r, after))
                }
            } "\n"
        }
    }
}

/// What an incident's impact means for what it affects, while open and once resolved.
fn impact_words(p: &Post) -> &'static str {
    let open = !p.state.is_final();
    match (p.impact, open) {
        (Impact::None, _) => "none: no component is affected",
        (Impact::Minor, true) => "minor: degraded performance",
        (Impact::Major, true) => "major: partial outage",
        (Impact::Critical, true) => "critical: major outage",
        (Impact::Minor, false) => "minor (degraded performance until it was resolved)",
        (Impact::Major, false) => "major (partial outage until it was resolved)",
        (Impact::Critical, false) => "critical (major outage until it was resolved)",
    }
}

type Fields<'a> = (&'a str, &'a str, Option<Timestamp>, Option<Timestamp>);

fn correction(site: &Site, r: &Revision, after: Fields<'_>) -> Markup {
    let mut changed = Vec::new();
    if (r.starts, r.ends) != (after.2, after.3) {
        changed.push("the time");
    }
    if r.title != after.0 {
        changed.push("the title");
    }
    if r.body != after.1 {
        changed.push("the text");
    }
    html! {
        div class="correction" id={ "correction-" (r.revision) } {
            "\n"
            p { "Corrected on " (time(r.at, site)) ": " (r.note) (full_stop(&r.note)) } "\n"
            @if !changed.is_empty() {
                p class="meta" { "Changed: " (changed.join(", ")) "." } "\n"
            }
            details {
                "\n"
                summary { "How it read before" } "\n"
                div class="before" {
                    "\n"
                    dl class="facts" {
                        "\n"
                        dt { "Title" } dd class="before-title" { (r.title) } "\n"
                        dt { "When" }
                        dd class="before-when" {
                            @if r.starts.is_none() && r.ends.is_none() { "no time given" }
                            (window(r.starts, r.ends, site))
                        } "\n"
                    } "\n"
                    div class="body before-body" { "\n" (markdown_html(&r.body)) } "\n"
                } "\n"
            } "\n"
        } "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::tests::assert_page;
    use crate::post::PostState;
    use crate::testing;

    fn render(id: i64) -> String {
        let site = testing::site();
        let posts = testing::posts();
        let p = posts.iter().find(|p| p.id == id).unwrap();
        let (updates, revisions, components) = (testing::updates(id), testing::revisions(id), testing::components());
        post(&PostView {
            site: &site,
            now: testing::now(),
            post: p,
            updates: &updates,
            revisions: &revisions,
            components: &components,
            replaces: p.replaces.and_then(|r| posts.iter().find(|o| o.id == r)),
            replaced_by: crate::pages::replaced_by(p, &posts),
        })
    }

    #[test]
    fn post_page_shows_window_affected_body_and_corrections() {
        let html = render(2);
        assert_page(&html);
        testing::keep("status-post.html", &html);
        assert!(html.contains("<h1>Hypervisor reboots</h1>"), "{html}");
        assert!(
            html.contains(
                "<dt>When</dt><dd id=\"when\"><span class=\"window\" data-starts=\"2013-03-09T09:00:00Z\" \
             data-ends=\"2013-03-09T13:00:00Z\">Sat 9 Mar 2013 10:00–14:00 CET</span></dd>"
            ),
            "{html}"
        );
        assert!(html.contains("<dd id=\"affected\">Virtual machines, Rack A1, Rack A2</dd>"), "{html}");
        assert!(html.contains("<strong>less than 30 minutes</strong>"), "{html}");
        // The correction, at the top and in full with the earlier date.
        assert!(
            html.contains(
                "Corrected on <time datetime=\"2013-03-04T08:12:00Z\">Mon 4 Mar 2013 09:12 CET</time>: the date of the \
             host reboot was wrong"
            ),
            "{html}"
        );
        assert!(html.contains("<div class=\"correction\" id=\"correction-2\">"), "{html}");
        assert!(html.contains("<p class=\"meta\">Changed: the time, the text.</p>"), "{html}");
        assert!(html.contains("data-starts=\"2013-02-09T09:00:00Z\" data-ends=\"2013-02-09T13:00:00Z\">Sat 9 Feb 2013 10:00–14:00 CET</span>"), "{html}");
        assert!(html.contains("<section id=\"timeline\">"));
        assert!(html.contains("Technical contacts have received the times for their machines."));
    }

    #[test]
    fn post_page_timeline_is_newest_first_with_states() {
        let html = render(3);
        assert_page(&html);
        let ids: Vec<usize> = ["update-4", "update-3", "update-2"].iter().map(|id| html.find(id).unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "newest first: {ids:?}");
        assert!(
            html.contains(
                "<li class=\"update\" id=\"update-4\" data-state=\"resolved\">\n<p class=\"meta\"><time datetime=\
             \"2013-02-19T16:10:00Z\">"
            ),
            "{html}"
        );
        assert!(html.contains("<span class=\"badge state\" data-state=\"resolved\">resolved</span>"));
        assert!(!html.contains("id=\"corrections\""), "no corrections, no section");
    }

    #[test]
    fn post_pages_link_a_cancelled_post_and_its_replacement_both_ways() {
        let cancelled = render(4);
        assert_page(&cancelled);
        assert!(
            cancelled.contains(
                "<p class=\"meta replaced-by\">Replaced by <a href=\"/posts/5\" data-post=\"5\">Core switch \
                 replacement, new date</a> (scheduled), <span class=\"window\""
            ),
            "{cancelled}"
        );
        assert!(!cancelled.contains("class=\"meta replaces\""));
        let new = render(5);
        assert!(
            new.contains(
                "<p class=\"meta replaces\">Replaces <a href=\"/posts/4\" data-post=\"4\">Core switch replacement</a> \
                 (cancelled), <span class=\"window\""
            ),
            "{new}"
        );
        assert!(!new.contains("Replaced by"));
        assert!(!render(2).contains("Replace"), "no replacement, no link");
    }

    #[test]
    fn incident_pages_say_their_impact() {
        let open = render(6);
        assert!(open.contains("<dt>Impact</dt><dd id=\"impact\" data-impact=\"major\">major: partial outage</dd>"));
        assert!(open.contains("<span class=\"badge impact\" data-impact=\"major\">major impact</span>"));
        let resolved = render(3);
        assert!(
            resolved.contains("data-impact=\"minor\">minor (degraded performance until it was resolved)</dd>"),
            "{resolved}"
        );
        assert!(!render(2).contains("<dt>Impact</dt>"), "maintenance has none");
    }

    #[test]
    fn post_page_without_times_shows_none() {
        let html = render(7);
        assert_page(&html);
        assert!(!html.contains("<dt>When</dt>"), "{html}");
        assert!(!html.contains("class=\"window\""), "{html}");
        assert!(html.contains("<p class=\"empty\">No updates yet.</p>"));
    }

    #[test]
    fn post_page_escapes_everything_from_data() {
        let site = testing::site();
        let p = testing::hostile();
        let updates = [Update {
            id: 1,
            post: p.id,
            at: testing::now(),
            state: Some(PostState::Published),
            body: "<img src=x onerror=alert(6)>".into(),
            author: "<b>me</b>".into(),
        }];
        let revisions = [Revision {
            post: p.id,
            revision: 2,
            at: testing::now(),
            note: "<script>alert(7)</script>".into(),
            author: "x".into(),
            title: "<i>old</i>".into(),
            body: "<script>alert(8)</script>".into(),
            starts: None,
            ends: None,
        }];
        let html = post(&PostView {
            site: &site,
            now: testing::now(),
            post: &p,
            updates: &updates,
            revisions: &revisions,
            components: &[],
            replaces: None,
            replaced_by: None,
        });
        assert_page(&html);
        assert!(html.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</h1>"), "{html}");
        assert!(
            html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more · Lindenau Hosting status</title>")
        );
        assert!(html.contains("&lt;img src=x onerror=alert(6)&gt;"), "{html}");
        assert!(html.contains(": &lt;script&gt;alert(7)&lt;/script&gt;.</p>"), "{html}");
        assert!(html.contains("<dd class=\"before-title\">&lt;i&gt;old&lt;/i&gt;</dd>"), "{html}");
        assert!(html.contains("<dd class=\"before-when\">no time given</dd>"), "{html}");
    }
}
