//! The history: every past post, newest first, under the month it happened in, a page at a time.

use std::cmp::Reverse;

use jiff::Timestamp;
use maud::html;

use super::{layout, post_card};
use crate::post::{Component, Post};
use crate::site::Site;
use crate::when;

/// Posts on one history page.
pub const HISTORY_PAGE_SIZE: usize = 25;

/// What a history page shows.
#[derive(Clone, Copy, Debug)]
pub struct HistoryView<'a> {
    pub site: &'a Site,
    pub now: Timestamp,
    /// Every post; the page picks the past ones.
    pub posts: &'a [Post],
    /// 1 for the newest posts; 0 is read as 1.
    pub page: usize,
    /// To name the affected components (ids not found are shown as they are).
    pub components: &'a [Component],
}

/// When a post happened, for ordering and its month: its start, or when it was posted.
fn happened(p: &Post) -> Timestamp {
    p.starts.unwrap_or(p.created)
}

/// One page of the history, linked to the pages before and after it (`/history?page=N`).
pub fn history(v: &HistoryView<'_>) -> String {
    let (site, now) = (v.site, v.now);
    // Past: posted by now, and not still waiting for its start.
    let mut past: Vec<&Post> = v
        .posts
        .iter()
        .filter(|p| p.created <= now && (p.state.is_final() || p.starts.is_none_or(|s| s <= now)))
        .collect();
    past.sort_by_key(|p| (Reverse(happened(p)), Reverse(p.id)));
    let pages = past.len().div_ceil(HISTORY_PAGE_SIZE).max(1);
    let page = v.page.max(1);
    let shown = past.iter().skip((page - 1) * HISTORY_PAGE_SIZE).take(HISTORY_PAGE_SIZE);

    // The shown posts by month, in order.
    let mut months: Vec<(String, Vec<&Post>)> = Vec::new();
    for &p in shown {
        let this = when::date(happened(p), &site.zone).strftime("%B %Y").to_string();
        match months.last_mut() {
            Some((month, posts)) if *month == this => posts.push(p),
            _ => months.push((this, vec![p])),
        }
    }
    let main = html! {
        h1 { "History" } "\n"
        section id="history" data-page=(page) data-pages=(pages) {
            "\n"
            @for (month, posts) in &months {
                section class="month" {
                    "\n"
                    h2 { (month) } "\n"
                    @for p in posts { (post_card(site, p, v.components, v.posts)) }
                } "\n"
            }
            @if months.is_empty() {
                @if past.is_empty() {
                    p class="empty" { "Nothing has been posted yet." } "\n"
                } @else {
                    p class="empty" {
                        "There is no page " (page) "; the history has " (pages) ". "
                        a href=(site.path("/history")) { "Go to the newest posts" } "."
                    } "\n"
                }
            }
        } "\n"
        @if pages > 1 && page <= pages {
            nav class="pager" {
                @if page > 1 {
                    a rel="prev" href=(site.path(&format!("/history?page={}", page - 1))) { "← Newer" }
                } @else {
                    span {}
                }
                @if page < pages {
                    a rel="next" href=(site.path(&format!("/history?page={}", page + 1))) { "Older →" }
                }
            } "\n"
        }
    };
    let title = if page > 1 { format!("History, page {page}") } else { "History".to_owned() };
    layout(site, now, &title, main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::tests::assert_page;
    use crate::testing;

    fn months(html: &str) -> Vec<&str> {
        html.match_indices("<section class=\"month\">\n<h2>")
            .map(|(i, m)| {
                let rest = &html[i + m.len()..];
                &rest[..rest.find("</h2>").unwrap()]
            })
            .collect()
    }

    #[test]
    fn history_lists_past_posts_by_month_newest_first() {
        let site = testing::site();
        let posts = testing::posts();
        let html = history(&HistoryView {
            site: &site,
            now: testing::now(),
            posts: &posts,
            page: 1,
            components: &testing::components(),
        });
        assert!(html.contains("Affects Core switch 1"), "{html}");
        assert_page(&html);
        testing::keep("status-history.html", &html);
        assert_eq!(months(&html), ["March 2013", "February 2013", "December 2012"]);
        // Upcoming scheduled work is not history; the cancelled one is over.
        assert!(!html.contains("id=\"post-2\"") && !html.contains("id=\"post-5\""), "{html}");
        assert!(html.contains("id=\"post-4\"") && html.contains("id=\"post-8\""));
        let order: Vec<usize> = ["post-4", "post-6", "post-1", "post-7", "post-3", "post-8"]
            .iter()
            .map(|id| html.find(&format!("id=\"{id}\"")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(!html.contains("class=\"pager\""));
        // The cancelled switch replacement links to the post that replaces it.
        let cancelled = &html[html.find("id=\"post-4\"").unwrap()..];
        let cancelled = &cancelled[..cancelled.find("</article>").unwrap()];
        assert!(
            cancelled.contains(
                "<p class=\"meta replaced-by\">Replaced by <a href=\"/posts/5\" data-post=\"5\">Core switch \
                 replacement, new date</a> (scheduled), <span class=\"window\" data-starts=\"2013-03-19T21:00:00Z\""
            ),
            "{cancelled}"
        );
    }

    #[test]
    fn history_pages() {
        let site = testing::site();
        let base = testing::posts().remove(2);
        let posts: Vec<Post> = (0..60)
            .map(|i| {
                let mut p = base.clone();
                p.id = 100 + i;
                p.starts = Some(p.starts.unwrap() - jiff::SignedDuration::from_hours(24 * i));
                p
            })
            .collect();
        let page =
            |n| history(&HistoryView { site: &site, now: testing::now(), posts: &posts, page: n, components: &[] });
        let first = page(0);
        assert_eq!(first, page(1));
        assert_eq!(first.matches("<article class=\"post\"").count(), HISTORY_PAGE_SIZE);
        assert!(first.contains("<a rel=\"next\" href=\"/history?page=2\">Older →</a>"));
        let last = page(3);
        assert_page(&last);
        assert_eq!(last.matches("<article class=\"post\"").count(), 60 - 2 * HISTORY_PAGE_SIZE);
        assert!(
            last.contains("<a rel=\"prev\" href=\"/history?page=2\">← Newer</a>") && !last.contains("rel=\"next\"")
        );
        assert!(page(4).contains("There is no page 4; the history has 3."));
    }
}
