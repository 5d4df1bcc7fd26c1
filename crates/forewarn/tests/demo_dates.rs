//! The demo's story holds on any day: `forewarn demo --now T` at days across a year (the
//! DST nights, mid-December before the sample's year-end freeze, New Year's Eve, a leap
//! day) tells the whole story, and every date in it is where a reader expects it: every
//! sample machine slotted in the weeks ahead, the incident's updates in order over its
//! morning, the cancelled switch replacement before its new date.

mod support;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use support::Demo;

/// The days the story is told on (Berlin and UTC instants; the sample's zone is Berlin).
const NOWS: &[&str] = &[
    "2026-01-05T08:00:00+01:00", // an ordinary Monday in winter
    "2026-03-25T12:00:00+01:00", // the week the clocks go forward (29 March)
    "2026-03-29T01:30:00+01:00", // half an hour before they do
    "2026-06-30T23:59:00+02:00", // the end of a month and a half-year
    "2026-10-25T02:30:00+01:00", // inside the repeated hour, as they go back
    "2026-12-02T09:00:00+01:00", // the day this story was first found broken
    "2026-12-15T10:00:00+01:00", // mid-December: the year-end freeze lies ahead
    "2026-12-24T18:00:00+01:00", // inside the freeze
    "2026-12-31T23:30:00+01:00", // New Year's Eve
    "2028-02-29T12:00:00+01:00", // a leap day
];

fn instant(v: &Value) -> Timestamp {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an instant: {v}"))
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

/// The whole story, as a reader and an operator see it, at `now`.
fn check_story(demo: &Demo, now: Timestamp) {
    let at = |what: &str| format!("demo at {now}: {what}");

    // The OS update: published, every one of the sample's 33 machines slotted, every slot
    // at least the notice after now and in the weeks ahead; its title names its month.
    let campaign = demo.admin("GET", "/api/v1/campaigns/os-update", "application/json", b"").json();
    assert_eq!(campaign["state"], "published", "{}", at(&campaign.to_string()));
    let plan = demo.admin("GET", "/api/v1/campaigns/os-update/plan", "application/json", b"").json();
    let slots = plan["slots"].as_array().expect("slots");
    let unscheduled = plan["unscheduled"].as_array().expect("unscheduled");
    assert_eq!((slots.len(), unscheduled.len()), (33, 0), "{}", at(&format!("every machine slotted: {plan:#}")));
    let first = slots.iter().map(|s| instant(&s["start"])).min().unwrap();
    let last = slots.iter().map(|s| instant(&s["end"])).max().unwrap();
    assert!(first >= now + hours(72), "{}", at(&format!("the first slot {first} keeps the 72 h notice")));
    assert!(first >= now + hours(13 * 24) && last <= now + hours(40 * 24), "{}", at(&format!("{first} to {last}")));

    let posts = demo.get("/api/v1/posts").json();
    let posts = posts.as_array().expect("posts");
    assert_eq!(posts.len(), 4, "{}", at(&format!("{posts:#?}")));
    // The post whose title is `title`, or starts with it when it ends in `…`.
    let titled = |title: &str| -> &Value {
        let matches = |t: &str| match title.strip_suffix('…') {
            Some(start) => t.starts_with(start),
            None => t == title,
        };
        posts
            .iter()
            .find(|p| p["title"].as_str().is_some_and(matches))
            .unwrap_or_else(|| panic!("{}", at(&format!("no post titled `{title}`: {posts:#?}"))))
    };

    // Its post takes its window from the plan.
    let os = titled("Operating system update…");
    assert_eq!((instant(&os["starts"]), instant(&os["ends"])), (first, last), "{}", at(&os.to_string()));
    assert_eq!(os["state"], "scheduled", "{}", at(&os.to_string()));
    let month = first.to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Berlin").unwrap()).strftime("%B").to_string();
    assert!(os["title"].as_str().unwrap().contains(&month), "{}", at(&format!("{} names {month}", os["title"])));

    // The incident: yesterday morning, its updates in order between its start and now.
    let incident = demo.get(&format!("/api/v1/posts/{}", titled("Slow disks on host kvm03")["id"])).json();
    assert_eq!(incident["state"], "resolved", "{}", at(&incident.to_string()));
    let (began, created) = (instant(&incident["starts"]), instant(&incident["created"]));
    assert!(began <= created && created < now, "{}", at(&incident.to_string()));
    assert!(now - began <= hours(48) && now - began >= hours(12), "{}", at(&format!("yesterday: {began}")));
    let updates = incident["updates"].as_array().unwrap_or_else(|| panic!("{}", at(&incident.to_string())));
    let states: Vec<&str> = updates.iter().filter_map(|u| u["state"].as_str()).collect();
    let times: Vec<Timestamp> = updates.iter().map(|u| instant(&u["at"])).collect();
    assert!(states.ends_with(&["identified", "monitoring", "resolved"]), "{}", at(&format!("{updates:#?}")));
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{}", at(&format!("updates in order: {times:?}")));
    assert!(times.first().is_some_and(|&t| t > created), "{}", at(&format!("{times:?}")));
    assert!(times.last().is_some_and(|&t| t - created <= hours(3) && t < now), "{}", at(&format!("{times:?}")));

    // The switch replacement: announced, cancelled before its date, announced again for
    // later; nothing in it happens before it was written.
    let cancelled = titled("Replacement of switch sw1 in rack r1");
    let again = titled("Replacement of switch sw1 in rack r1 (new date)");
    assert_ne!(cancelled["id"], again["id"]);
    assert_eq!((cancelled["state"].as_str(), again["state"].as_str()), (Some("cancelled"), Some("scheduled")));
    let (was, cancelled_at) = (instant(&cancelled["starts"]), instant(&cancelled["updated"]));
    assert!(instant(&cancelled["created"]) < cancelled_at && cancelled_at < was, "{}", at(&cancelled.to_string()));
    assert!(cancelled_at <= instant(&again["created"]), "{}", at(&again.to_string()));
    assert!(instant(&again["starts"]) > was && instant(&again["starts"]) > now, "{}", at(&again.to_string()));
    for p in posts {
        let body = p["body"].as_str().unwrap_or_default();
        for relative in ["last week", "yesterday", "tomorrow", "next week"] {
            assert!(!body.contains(relative), "{}", at(&format!("`{relative}` in a stored post goes stale: {body}")));
        }
    }
}

#[test]
fn the_demo_tells_its_whole_story_on_any_day() {
    // Three demos at a time: each is a process with its own database and port.
    for days in NOWS.chunks(3) {
        let demos: Vec<(Timestamp, Demo)> = days
            .iter()
            .map(|now| (now.parse().unwrap_or_else(|e| panic!("{now}: {e}")), Demo::start_at(now)))
            .collect();
        for (now, demo) in &demos {
            check_story(demo, *now);
        }
    }
}
