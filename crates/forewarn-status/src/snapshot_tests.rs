//! Every rendering of the sample data compared with the reviewed one in `snapshots/`: the
//! pages, the Atom feed, the calendar and the announcement. `INSTA_UPDATE=always cargo test`
//! writes new snapshots; `git diff` on them is the change of output to review. With
//! `CI=true` a difference fails and nothing is written.

use crate::pages::{self, HistoryView, IndexView, PostView};
use crate::testing::{self, ts};

#[test]
fn pages_match_their_snapshots() {
    let site = testing::site();
    let (posts, components, now) = (testing::posts(), testing::components(), testing::now());
    insta::assert_snapshot!(
        "index",
        pages::index(&IndexView { site: &site, now, components: &components, posts: &posts })
    );
    for id in [1, 2, 4, 5, 6] {
        let p = posts.iter().find(|p| p.id == id).expect("a sample post");
        let (updates, revisions) = (testing::updates(id), testing::revisions(id));
        let html = pages::post(&PostView {
            site: &site,
            now,
            post: p,
            updates: &updates,
            revisions: &revisions,
            components: &components,
            replaces: p.replaces.and_then(|r| posts.iter().find(|o| o.id == r)),
            replaced_by: pages::replaced_by(p, &posts),
        });
        insta::assert_snapshot!(format!("post_{id}"), html);
    }
    let history =
        |page| pages::history(&HistoryView { site: &site, now, posts: &posts, page, components: &components });
    insta::assert_snapshot!("history", history(1));
    insta::assert_snapshot!("history_past_the_end", history(9));
    insta::assert_snapshot!("not_found", pages::not_found(&site, now));
    insta::assert_snapshot!(
        "error_page",
        pages::error_page(&site, now, "Method <not> allowed", "`/` does not take DELETE & more.")
    );
}

#[test]
fn hostile_text_stays_text_in_every_rendering() {
    let site = testing::site();
    let mut posts = testing::posts();
    posts.push(testing::hostile());
    let now = testing::now();
    let hostile = posts.last().expect("the hostile post");
    let html = pages::post(&PostView {
        site: &site,
        now,
        post: hostile,
        updates: &[],
        revisions: &[],
        components: &[],
        replaces: None,
        replaced_by: None,
    });
    insta::assert_snapshot!("post_hostile", html);
    insta::assert_snapshot!(
        "index_hostile",
        pages::index(&IndexView { site: &site, now, components: &testing::components(), posts: &posts })
    );
}

#[test]
fn feeds_match_their_snapshots() {
    let site = testing::site();
    let mut posts = testing::posts();
    posts.push(testing::hostile());
    let now = ts("2013-03-05T12:00:00Z");
    insta::assert_snapshot!("feed_atom", crate::feed(&posts, &testing::all_updates(), &site, now));
    // CRLF becomes LF so that the file reads as text; the calendar's own tests check the CRLFs.
    let ics = crate::calendar(&testing::posts(), &site, now);
    insta::assert_snapshot!("calendar_ics", ics.replace("\r\n", "\n"));
}

#[test]
fn announcements_match_their_snapshots() {
    for campaign in ["os-update.toml", "host-reboot.toml", "fsck.toml"] {
        let (inv, c, plan) = testing::planned(campaign);
        let a = crate::announcement(&c, &plan, &inv, &inv.platform.zone);
        let when = |t: Option<jiff::Timestamp>| t.map_or_else(|| "none".to_owned(), |t| t.to_string());
        let text = format!("title: {}\nstarts: {}\nends: {}\n\n{}", a.title, when(a.starts), when(a.ends), a.body);
        insta::assert_snapshot!(format!("announcement_{}", campaign.trim_end_matches(".toml")), text);
    }
}
