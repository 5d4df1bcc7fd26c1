//! The front page: how every component is doing, what is happening now, what is coming, and
//! the incidents of the last 30 days.

use std::cmp::Reverse;

use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};

use super::{layout, post_card};
use crate::post::{Component, ComponentKind, ComponentStatus, Post, PostKind, PostState};
use crate::site::Site;
use crate::{status, when};

/// What the front page shows.
#[derive(Clone, Copy, Debug)]
pub struct IndexView<'a> {
    pub site: &'a Site,
    pub now: Timestamp,
    pub components: &'a [Component],
    /// Every post; the page picks what is current.
    pub posts: &'a [Post],
}

/// How far back resolved incidents and notices stay on the front page.
const RECENT: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Whether a post is happening at `now`: an open incident, maintenance in progress or inside
/// its window.
fn ongoing(p: &Post, now: Timestamp) -> bool {
    status::open_incident(p, now) || status::maintenance_in_progress(p, now)
}

/// Maintenance still to come at `now`. A cancelled one is not: it goes to the history (with a
/// link to the post that replaces it, if any).
fn upcoming(p: &Post, now: Timestamp) -> bool {
    p.kind == PostKind::Maintenance && p.state == PostState::Scheduled && p.starts.is_some_and(|s| s > now)
}

/// When an incident was resolved, as far as the post tells.
fn resolved_at(p: &Post) -> Timestamp {
    p.ends.unwrap_or(p.updated)
}

fn overall_words(worst: ComponentStatus) -> &'static str {
    match worst {
        ComponentStatus::Operational => "All systems operational",
        ComponentStatus::Maintenance => "Maintenance in progress",
        ComponentStatus::Degraded => "Degraded performance",
        ComponentStatus::PartialOutage => "Partial outage",
        ComponentStatus::MajorOutage => "Major outage",
    }
}

fn group_title(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Service => "Services",
        ComponentKind::Rack => "Racks",
        ComponentKind::Device => "Network devices",
    }
}

/// The front page.
pub fn index(v: &IndexView<'_>) -> String {
    let (site, now) = (v.site, v.now);
    let recent = now.checked_sub(RECENT).unwrap_or(now);

    let mut ongoing: Vec<&Post> = v.posts.iter().filter(|p| ongoing(p, now)).collect();
    ongoing.sort_by_key(|p| (p.kind != PostKind::Incident, p.starts.unwrap_or(p.created), p.id));
    let mut upcoming: Vec<&Post> = v.posts.iter().filter(|p| upcoming(p, now)).collect();
    upcoming.sort_by_key(|p| (p.starts, p.id));
    let mut incidents: Vec<&Post> = v
        .posts
        .iter()
        .filter(|p| p.kind == PostKind::Incident && p.state == PostState::Resolved && resolved_at(p) >= recent)
        .filter(|p| p.created <= now)
        .collect();
    incidents.sort_by_key(|p| (Reverse(resolved_at(p)), Reverse(p.id)));
    let mut notices: Vec<&Post> = v
        .posts
        .iter()
        .filter(|p| p.kind == PostKind::Notice && p.created <= now)
        .filter(|p| p.ends.map_or(p.updated >= recent, |e| e > now))
        .collect();
    notices.sort_by_key(|p| (Reverse(p.updated), Reverse(p.id)));

    // The components as open incidents and running maintenance make them; the banner: the
    // worst of them and of every open incident and maintenance in progress.
    let components = status::effective(v.components, v.posts, now);
    let worst = status::overall(&components, v.posts, now);
    let open_incidents = ongoing.iter().filter(|p| p.kind == PostKind::Incident).count();
    let open_work = ongoing.len() - open_incidents;
    let mut going_on = Vec::new();
    if open_incidents > 0 {
        going_on.push(format!("{open_incidents} open incident{}", if open_incidents == 1 { "" } else { "s" }));
    }
    if open_work > 0 {
        going_on.push(format!("{open_work} maintenance{} in progress", if open_work == 1 { "" } else { "s" }));
    }
    let groups = [ComponentKind::Service, ComponentKind::Rack, ComponentKind::Device].map(|kind| {
        let mut group: Vec<&Component> = components.iter().filter(|c| c.kind == kind).collect();
        group.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.name.cmp(&b.name)).then_with(|| a.id.cmp(&b.id)));
        (kind, group)
    });

    let main = html! {
        section id="overall" class="overall" data-status=(worst.name()) {
            "\n"
            h1 { (overall_words(worst)) } "\n"
            p {
                "As of " (when::moment(now, &site.zone))
                @if !going_on.is_empty() { " · " (going_on.join(", ")) }
            } "\n"
        } "\n"
        section id="ongoing" {
            "\n"
            h2 { "Happening now" } "\n"
            (cards(site, &ongoing, v, "No maintenance or incident is under way."))
        } "\n"
        section id="components" {
            "\n"
            h2 { "Components" } "\n"
            @if components.is_empty() {
                p class="empty" { "No components are listed." } "\n"
            }
            @for (kind, group) in &groups {
                @if !group.is_empty() {
                    h3 class="group" { (group_title(*kind)) } "\n"
                    ul class="components" {
                        "\n"
                        @for c in group {
                            li class="component" id={ "component-" (c.id) } data-kind=(kind_name(c.kind))
                                data-status=(c.status.name()) {
                                span class="name" { (c.name) }
                                span class="status" { (c.status.label()) }
                            } "\n"
                        }
                    } "\n"
                }
            }
        } "\n"
        section id="upcoming" {
            "\n"
            h2 { "Upcoming maintenance" } "\n"
            (cards(site, &upcoming, v, "No maintenance is planned."))
        } "\n"
        @if !notices.is_empty() {
            section id="notices" {
                "\n"
                h2 { "Notices" } "\n"
                (cards(site, &notices, v, ""))
            } "\n"
        }
        section id="incidents" {
            "\n"
            h2 { "Recent incidents" } "\n"
            (cards(site, &incidents, v, "No incidents in the last 30 days."))
            p class="meta" { a href=(site.path("/history")) { "All past posts" } } "\n"
        } "\n"
    };
    layout(site, now, "Status", main)
}

fn cards(site: &Site, posts: &[&Post], v: &IndexView<'_>, empty: &str) -> Markup {
    html! {
        @if posts.is_empty() {
            p class="empty" { (empty) } "\n"
        }
        @for p in posts {
            (post_card(site, p, v.components, v.posts))
        }
    }
}

fn kind_name(k: ComponentKind) -> &'static str {
    match k {
        ComponentKind::Service => "service",
        ComponentKind::Rack => "rack",
        ComponentKind::Device => "device",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::tests::assert_page;
    use crate::post::Impact;
    use crate::testing::{self, ts};

    /// The ids of the posts in a section, in order.
    fn section_posts(html: &str, id: &str) -> Vec<i64> {
        let start = html.find(&format!("<section id=\"{id}\">")).unwrap_or_else(|| panic!("no #{id}"));
        let section = &html[start..start + html[start..].find("</section>").unwrap()];
        section
            .match_indices("<article class=\"post\" id=\"post-")
            .map(|(i, m)| {
                let rest = &section[i + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn index_sorts_posts_into_now_upcoming_and_recent() {
        let site = testing::site();
        let (posts, components) = (testing::posts(), testing::components());
        let html = index(&IndexView { site: &site, now: testing::now(), components: &components, posts: &posts });
        assert_page(&html);
        testing::keep("status-index.html", &html);
        // The open incident first, then the work in progress.
        assert_eq!(section_posts(&html, "ongoing"), [6, 1]);
        // By start; the cancelled one went to the history, its replacement links to it.
        assert_eq!(section_posts(&html, "upcoming"), [2, 5]);
        assert!(!html.contains("id=\"post-4\""), "{html}");
        assert!(
            html.contains(
                "<p class=\"meta replaces\">Replaces <a href=\"/posts/4\" data-post=\"4\">Core switch replacement</a> \
                 (cancelled), <span class=\"window\""
            ),
            "{html}"
        );
        // Resolved within 30 days; December's is history.
        assert_eq!(section_posts(&html, "incidents"), [3]);
        assert_eq!(section_posts(&html, "notices"), [7]);
        assert!(html.contains("<a href=\"/posts/2\">Hypervisor reboots</a>"), "{html}");
        assert!(html.contains("Sat 9 Mar 2013 10:00–14:00 CET"), "{html}");
        assert!(html.contains("Affects Virtual machines, Rack A1, Rack A2"), "{html}");
        // The banner shows the worst status and what is going on.
        assert!(html.contains(
            "<section id=\"overall\" class=\"overall\" data-status=\"partial_outage\">\n<h1>Partial outage</h1>"
        ));
        assert!(html.contains("1 open incident, 1 maintenance in progress"), "{html}");
        assert!(html.contains("<span class=\"badge impact\" data-impact=\"major\">major impact</span>"), "{html}");
    }

    /// The status shown for each component: `(id, data-status, words)`.
    fn shown_components(html: &str) -> Vec<(String, String, String)> {
        html.match_indices("<li class=\"component\" id=\"component-")
            .map(|(i, m)| {
                let rest = &html[i + m.len()..];
                let id = &rest[..rest.find('"').unwrap()];
                let status = &rest[rest.find("data-status=\"").unwrap() + 13..];
                let words =
                    &rest[rest.find("<span class=\"status\">").unwrap() + 21..rest.find("</span></li>").unwrap()];
                (id.to_owned(), status[..status.find('"').unwrap()].to_owned(), words.to_owned())
            })
            .collect()
    }

    #[test]
    fn index_banner_and_components_follow_open_incidents_and_running_maintenance() {
        let site = testing::site();
        let operational: Vec<Component> = testing::components()
            .into_iter()
            .map(|c| Component { status: ComponentStatus::Operational, ..c })
            .collect();
        let mut incident = testing::posts().remove(5);
        incident.components = vec!["dns".into()];
        let render = |posts: &[Post], now| index(&IndexView { site: &site, now, components: &operational, posts });
        // Nothing open: green.
        let html = render(&[], testing::now());
        assert!(html.contains("data-status=\"operational\">\n<h1>All systems operational</h1>"), "{html}");
        // The open incident of major impact: its component shows partial outage, the banner too.
        let html = render(std::slice::from_ref(&incident), testing::now());
        assert!(html.contains("data-status=\"partial_outage\">\n<h1>Partial outage</h1>"), "{html}");
        let dns = shown_components(&html).into_iter().find(|c| c.0 == "dns").unwrap();
        assert_eq!(dns, ("dns".into(), "partial_outage".into(), "partial outage".into()));
        // First in its group, worst first.
        assert_eq!(shown_components(&html)[0].0, "dns");
        // Resolved: back to operational, green again.
        let resolved = Post { state: PostState::Resolved, ..incident.clone() };
        let html = render(&[resolved], testing::now());
        assert!(html.contains("<h1>All systems operational</h1>"), "{html}");
        assert!(shown_components(&html).iter().all(|c| c.1 == "operational"), "{html}");
        // A minor incident naming no component still leaves the banner not green.
        let minor = Post { impact: Impact::Minor, components: vec![], ..incident.clone() };
        let html = render(&[minor], testing::now());
        assert!(html.contains("data-status=\"degraded\">\n<h1>Degraded performance</h1>"), "{html}");
        // Maintenance whose window holds now: its components under maintenance, and the banner.
        let mut work = testing::posts().remove(1);
        work.components = vec!["rack-a1".into()];
        let html = render(std::slice::from_ref(&work), ts("2013-03-09T10:00:00Z"));
        assert!(html.contains("data-status=\"maintenance\">\n<h1>Maintenance in progress</h1>"), "{html}");
        let rack = shown_components(&html).into_iter().find(|c| c.0 == "rack-a1").unwrap();
        assert_eq!((rack.1.as_str(), rack.2.as_str()), ("maintenance", "under maintenance"));
        assert_eq!(section_posts(&html, "ongoing"), [2]);
        // Once it ended: nothing.
        let html = render(std::slice::from_ref(&work), ts("2013-03-09T13:00:00Z"));
        assert!(html.contains("<h1>All systems operational</h1>"), "{html}");
    }

    #[test]
    fn index_lists_components_by_kind_worst_first() {
        let site = testing::site();
        let components = testing::components();
        let html = index(&IndexView { site: &site, now: testing::now(), components: &components, posts: &[] });
        let order: Vec<&str> = html
            .match_indices("<li class=\"component\" id=\"component-")
            .map(|(i, m)| {
                let rest = &html[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        assert_eq!(order, ["object-storage", "vm-hosting", "dns", "web-frontends", "rack-a1", "rack-a2", "sw-core-1"]);
        assert!(html.contains(
            "<li class=\"component\" id=\"component-object-storage\" data-kind=\"service\" data-status=\"partial_outage\">\
             <span class=\"name\">Object storage</span><span class=\"status\">partial outage</span></li>"
        ));
        assert!(html.contains("<p class=\"empty\">No maintenance is planned.</p>"));
        assert!(html.contains("<p class=\"empty\">No incidents in the last 30 days.</p>"));
    }

    #[test]
    fn index_escapes_everything_from_data() {
        let mut site = testing::site();
        site.name = "<b>Ops</b>".into();
        let posts = [testing::hostile()];
        let components = [Component {
            id: "x\"><script>".into(),
            name: "<script>alert(5)</script>".into(),
            kind: ComponentKind::Service,
            status: ComponentStatus::Operational,
        }];
        let html = index(&IndexView { site: &site, now: testing::now(), components: &components, posts: &posts });
        assert_page(&html);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"), "{html}");
        assert!(html.contains("Affects &lt;img src=x onerror=alert(4)&gt;"), "{html}");
        assert!(html.contains("id=\"component-x&quot;&gt;&lt;script&gt;\""), "{html}");
        assert!(html.contains("<a class=\"brand\" href=\"/\">&lt;b&gt;Ops&lt;/b&gt;</a>"));
    }

    #[test]
    fn index_is_the_same_bytes_for_the_same_input() {
        let site = testing::site();
        let (posts, components) = (testing::posts(), testing::components());
        let v = IndexView { site: &site, now: testing::now(), components: &components, posts: &posts };
        let mut reversed = posts.clone();
        reversed.reverse();
        let w = IndexView { posts: &reversed, ..v };
        assert_eq!(index(&v), index(&w));
    }
}
