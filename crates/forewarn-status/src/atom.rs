//! The status page's Atom 1.0 feed (RFC 4287): one entry per post, newest change first, whose
//! `updated` moves whenever the post changes, so feed readers show corrections and new states.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::escape::Esc;
use crate::post::{Post, PostKind};
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

/// The Atom feed of `posts`: entries ordered by their last change, newest first; the feed's
/// `updated` is the newest post's, or `now` when there is none. Same posts, same bytes.
pub fn feed(posts: &[Post], site: &Site, now: Timestamp) -> String {
    let mut order: Vec<&Post> = posts.iter().collect();
    order.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
    let updated = order.first().map_or(now, |p| p.updated);

    let mut out = String::with_capacity(1024 + posts.iter().map(|p| p.body.len() * 2 + 600).sum::<usize>());
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
    for post in order {
        entry(&mut out, post, site);
    }
    out.push_str("</feed>\n");
    out
}

fn entry(out: &mut String, post: &Post, site: &Site) {
    let url = site.url(&format!("/posts/{}", post.id));
    out.push_str("  <entry>\n");
    let _ = writeln!(out, "    <id>{}</id>", Esc(&url));
    let _ = writeln!(out, "    <title>{}</title>", Esc(&entry_title(post)));
    let _ = writeln!(out, "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>", Esc(&url));
    let _ = writeln!(out, "    <published>{}</published>", when::rfc3339(post.created));
    let _ = writeln!(out, "    <updated>{}</updated>", when::rfc3339(post.updated));
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
        let xml = feed(&posts, &site, now);
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
        assert_eq!(xml, feed(&posts, &site, ts("2030-01-01T00:00:00Z")), "now matters only without posts");
        let empty = feed(&[], &site, now);
        assert!(empty.contains("<updated>2013-03-05T12:00:00Z</updated>"), "{empty}");
        assert!(!empty.contains("<entry>"));
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
        let xml = feed(&posts, &site, ts("2013-03-05T12:00:00Z"));
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
