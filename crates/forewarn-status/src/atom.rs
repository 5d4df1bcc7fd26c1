//! The status page's Atom 1.0 feed (RFC 4287): one entry per post, newest change first, whose
//! `updated` moves whenever the post changes (a new update, state or correction), so feed
//! readers show it again; its content carries the post's timeline, newest update first.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use crate::escape::Esc;
use crate::post::{Post, PostKind, Update};
use crate::site::Site;
use crate::{markdown, when};

/// "Maintenance", "Incident", "Notice".
pub(crate) fn kind_title(kind: PostKind) -> &'static str {
    match kind {
        PostKind::Maintenance => "Maintenance",
        PostKind::Incident => "Incident",
        PostKind::Notice => "Notice",
    }
}

/// A post's title as feeds show it: `Maintenance (scheduled): Switch replacement`.
/// A notice has one state only and shows none: `Notice: New mail servers`.
pub fn entry_title(post: &Post) -> String {
    match post.kind {
        PostKind::Notice => format!("{}: {}", kind_title(post.kind), post.title),
        _ => format!("{} ({}): {}", kind_title(post.kind), post.state.label(), post.title),
    }
}

/// When an entry last changed: the post's last change or its newest update, the later.
fn entry_updated(post: &Post, updates: &[&Update]) -> Timestamp {
    updates.iter().map(|u| u.at).fold(post.updated, Timestamp::max)
}

/// The Atom feed of `posts` with their `updates` (of any post, in any order): entries ordered
/// by their last change, newest first; the feed's `updated` is the newest entry's, or `now`
/// when there is none. Same posts and updates, same bytes.
pub fn feed(posts: &[Post], updates: &[Update], site: &Site, now: Timestamp) -> String {
    let mut timelines: HashMap<i64, Vec<&Update>> = HashMap::new();
    for u in updates {
        timelines.entry(u.post).or_default().push(u);
    }
    for list in timelines.values_mut() {
        list.sort_by_key(|u| (Reverse(u.at), Reverse(u.id)));
    }
    let mut order: Vec<(&Post, &[&Update], Timestamp)> = posts
        .iter()
        .map(|p| {
            let list = timelines.get(&p.id).map_or(&[][..], Vec::as_slice);
            (p, list, entry_updated(p, list))
        })
        .collect();
    order.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.id.cmp(&a.0.id)));
    let updated = order.first().map_or(now, |e| e.2);

    let mut out = String::with_capacity(
        1024 + posts.iter().map(|p| p.body.len() * 2 + 600).sum::<usize>()
            + updates.iter().map(|u| u.body.len() * 2 + 300).sum::<usize>(),
    );
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    // The base resolves the relative links of post bodies (`/posts/5`).
    let _ = writeln!(
        out,
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\" xml:base=\"{}\">",
        Esc(&site.url("/"))
    );
    let _ = writeln!(out, "  <id>{}</id>", Esc(&site.url("/")));
    let _ = writeln!(out, "  <title>{} status</title>", Esc(&site.name));
    let _ = writeln!(out, "  <updated>{}</updated>", when::rfc3339(updated));
    let _ =
        writeln!(out, "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>", Esc(&site.url("/feed.atom")));
    let _ = writeln!(out, "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>", Esc(&site.url("/")));
    let _ = writeln!(out, "  <author><name>{}</name></author>", Esc(&site.name));
    out.push_str("  <generator>forewarn</generator>\n");
    for (post, timeline, updated) in order {
        entry(&mut out, post, timeline, updated, site);
    }
    out.push_str("</feed>\n");
    out
}

fn entry(out: &mut String, post: &Post, timeline: &[&Update], updated: Timestamp, site: &Site) {
    let url = site.url(&format!("/posts/{}", post.id));
    out.push_str("  <entry>\n");
    let _ = writeln!(out, "    <id>{}</id>", Esc(&url));
    let _ = writeln!(out, "    <title>{}</title>", Esc(&entry_title(post)));
    let _ = writeln!(out, "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>", Esc(&url));
    let _ = writeln!(out, "    <published>{}</published>", when::rfc3339(post.created));
    let _ = writeln!(out, "    <updated>{}</updated>", when::rfc3339(updated));
    let _ = writeln!(out, "    <category term=\"{}\"/>", post.kind.name());
    let mut html = String::with_capacity(post.body.len() * 2 + 200);
    let _ = write!(html, "<p><strong>{}</strong>", kind_title(post.kind));
    if post.kind != PostKind::Notice {
        let _ = write!(html, ", {}", post.state.label());
    }
    if let Some(w) = when::window(post.starts, post.ends, &site.zone) {
        let _ = write!(html, ". When: {}", Esc(&w));
    }
    match post.revision {
        0 | 1 => {}
        2 => html.push_str(". Corrected once"),
        n => {
            let _ = write!(html, ". Corrected {} times", n - 1);
        }
    }
    html.push_str(".</p>\n");
    if !timeline.is_empty() {
        // The news first: the timeline, newest first, then the post as written.
        html.push_str("<h3>Updates, newest first</h3>\n<ul>\n");
        for u in timeline {
            let _ = write!(html, "<li><p><strong>{}</strong>", Esc(&when::moment(u.at, &site.zone)));
            if let Some(state) = u.state {
                let _ = write!(html, " · {}", state.label());
            }
            let _ = write!(html, "</p>\n{}</li>\n", markdown::render(&u.body));
        }
        html.push_str("</ul>\n<h3>The post</h3>\n");
    }
    html.push_str(&markdown::render(&post.body));
    let _ = writeln!(out, "    <content type=\"html\">{}</content>", Esc(&html));
    out.push_str("  </entry>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::PostState;
    use crate::testing::{self, ts};

    #[test]
    fn atom_feed_is_ordered_escaped_and_stable() {
        let site = testing::site();
        let mut posts = testing::posts();
        posts.push(testing::hostile());
        let now = ts("2013-03-05T12:00:00Z");
        let xml = feed(&posts, &testing::all_updates(), &site, now);
        testing::keep("status-feed.atom", &xml);
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\" \
                 xml:base=\"https://status.lindenau.example/\">\n"
        ));
        assert!(xml.ends_with("</feed>\n"));
        assert_eq!(xml.matches("<entry>").count(), posts.len());
        assert!(xml.contains("<id>https://status.lindenau.example/posts/1</id>"), "{xml}");
        assert!(xml.contains(
            "<link rel=\"self\" type=\"application/atom+xml\" href=\"https://status.lindenau.example/feed.atom\"/>"
        ));
        // The feed was last updated when its newest post was.
        let newest = posts.iter().map(|p| p.updated).max().unwrap();
        assert!(xml.contains(&format!("  <updated>{}</updated>\n  <link", when::rfc3339(newest))), "{xml}");
        // Nothing from the data arrives unescaped.
        assert!(!xml.contains("<script"), "{xml}");
        assert!(xml.contains("&lt;script&gt;"), "{xml}");
        // The window in the site's zone, named.
        assert!(xml.contains("When: Sat 9 Mar 2013 10:00–14:00 CET. Corrected once."), "{xml}");
        assert!(xml.contains("<title>Notice: &lt;script&gt;"), "{xml}");
        assert_eq!(
            xml,
            feed(&posts, &testing::all_updates(), &site, ts("2030-01-01T00:00:00Z")),
            "now matters only without posts"
        );
        let empty = feed(&[], &[], &site, now);
        assert!(empty.contains("<updated>2013-03-05T12:00:00Z</updated>"), "{empty}");
        assert!(!empty.contains("<entry>"));
    }

    /// The content of the entry of post `id`, unescaped once (as a feed reader reads it).
    fn content(xml: &str, id: i64) -> String {
        let start = xml.find(&format!("<id>https://status.lindenau.example/posts/{id}</id>")).unwrap();
        let entry = &xml[start..start + xml[start..].find("</entry>").unwrap()];
        let c = &entry[entry.find("<content type=\"html\">").unwrap() + 21..entry.find("</content>").unwrap()];
        c.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
    }

    #[test]
    fn atom_entries_carry_the_timeline_and_move_with_it() {
        let site = testing::site();
        let posts = testing::posts();
        let mut updates = testing::all_updates();
        let xml = feed(&posts, &updates, &site, testing::now());
        // Newest first, each with its time in the site's zone and its state.
        let incident = content(&xml, 3);
        let order: Vec<usize> = [
            "<strong>Tue 19 Feb 2013 17:10 CET</strong> · resolved</p>\n<p>Response times are back to normal.</p>",
            "<strong>Tue 19 Feb 2013 11:00 CET</strong> · monitoring</p>",
            "<strong>Mon 18 Feb 2013 10:15 CET</strong> · identified</p>",
            "<h3>The post</h3>\n<p>Some visitors see slow pages",
        ]
        .iter()
        .map(|part| incident.find(part).unwrap_or_else(|| panic!("no `{part}` in {incident}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{incident}");
        // An update without a state has its time only; a post without updates no timeline.
        assert!(content(&xml, 2).contains("<strong>Wed 20 Feb 2013 10:00 CET</strong></p>\n<p>Technical contacts"));
        assert!(!content(&xml, 7).contains("Updates"), "{}", content(&xml, 7));

        // A newer update moves the entry's `updated` and the entry to the top, even when the
        // post's own `updated` was not moved with it.
        updates.push(Update {
            id: 99,
            post: 2,
            at: ts("2013-03-05T11:59:00Z"),
            state: Some(PostState::InProgress),
            body: "The first hosts are rebooting.".into(),
            author: "ops".into(),
        });
        let xml = feed(&posts, &updates, &site, testing::now());
        let first = &xml[xml.find("<entry>").unwrap()..];
        assert!(first.starts_with("<entry>\n    <id>https://status.lindenau.example/posts/2</id>"), "{first}");
        assert!(first.contains("<updated>2013-03-05T11:59:00Z</updated>"), "{first}");
        assert!(xml.contains("  <updated>2013-03-05T11:59:00Z</updated>\n  <link"), "the feed's too: {xml}");
        let c = content(&xml, 2);
        assert!(c.find("The first hosts are rebooting.").unwrap() < c.find("Technical contacts").unwrap(), "{c}");
        assert!(c.contains("<strong>Tue 5 Mar 2013 12:59 CET</strong> · in progress</p>"), "{c}");
    }

    #[test]
    fn atom_titles_carry_kind_and_state() {
        let mut post = testing::posts().remove(0);
        post.state = PostState::InProgress;
        post.title = "Host reboots".into();
        assert_eq!(entry_title(&post), "Maintenance (in progress): Host reboots");
    }

    #[test]
    fn atom_parses_with_python_feedparser() {
        let mut site = testing::site();
        site.name = "Lindenau Hosting <Ops>".into();
        let mut posts = testing::posts();
        posts.push(testing::hostile());
        let xml = feed(&posts, &testing::all_updates(), &site, ts("2013-03-05T12:00:00Z"));
        let script = r#"
import sys, json, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
assert not d.bozo, d.bozo_exception
assert d.version == 'atom10', d.version
print(json.dumps({
    'title': d.feed.title,
    'updated': d.feed.updated,
    'self': [l.href for l in d.feed.links if l.rel == 'self'],
    'entries': [{'id': e.id, 'title': e.title, 'updated': e.updated, 'published': e.published,
                 'link': e.link, 'content': e.content[0].value, 'type': e.content[0].type} for e in d.entries],
}))
"#;
        let Some(out) = testing::python("feedparser", script, &xml) else { return };
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["title"], "Lindenau Hosting <Ops> status");
        assert_eq!(v["self"][0], "https://status.lindenau.example/feed.atom");
        let entries = v["entries"].as_array().unwrap();
        assert_eq!(entries.len(), posts.len());
        let mut by_updated: Vec<&Post> = posts.iter().collect();
        by_updated.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
        for (e, p) in entries.iter().zip(by_updated) {
            assert_eq!(e["id"], format!("https://status.lindenau.example/posts/{}", p.id));
            assert_eq!(e["link"], format!("https://status.lindenau.example/posts/{}", p.id));
            assert_eq!(e["title"], entry_title(p));
            assert_eq!(e["updated"], when::rfc3339(p.updated));
            assert_eq!(e["published"], when::rfc3339(p.created));
            assert_eq!(e["type"], "text/html");
            // feedparser sanitises HTML content itself; what we wrote arrives as text, not markup.
            let content = e["content"].as_str().unwrap();
            assert!(!content.contains("<script"), "{content}");
        }
        let first =
            entries.iter().find(|e| e["title"].as_str().unwrap().contains("<script>")).expect("the title with markup");
        assert!(first["title"].as_str().unwrap().ends_with("<script>alert(1)</script> & more"), "{first}");
    }
}
