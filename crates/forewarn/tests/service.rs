//! End to end over real TCP: the built `forewarn demo` serves the sample platform's story, and
//! what a reader or an operator gets from it is checked as they would notice: the pages, the
//! Atom feed and the calendar through real parsers (Python's feedparser and icalendar), the
//! API with and without its token, and a clean stop on SIGTERM.

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{Demo, Serve, TempDir, cannot_run, cards, python_can, python_json, section};

/// The demo's posts, as the public API lists them.
fn posts(demo: &Demo) -> Vec<Value> {
    demo.get("/api/v1/posts").json().as_array().expect("a list of posts").clone()
}

#[track_caller]
fn post_titled<'a>(posts: &'a [Value], title: &str) -> &'a Value {
    posts.iter().find(|p| p["title"] == title).unwrap_or_else(|| panic!("no post titled `{title}` in {posts:#?}"))
}

const SWITCH: &str = "Replacement of switch sw1 in rack r1";
const SWITCH_AGAIN: &str = "Replacement of switch sw1 in rack r1 (new date)";
const INCIDENT: &str = "Slow disks on host kvm03";

#[test]
fn demo_front_page_tells_the_story() {
    let demo = Demo::start();
    assert_eq!(demo.status_page, format!("http://{}/", demo.addr));
    let r = demo.get("/");
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{:?}", r.headers);
    let html = r.text();

    // The OS update and the switch replacement's new date are coming; the cancelled one is history.
    let upcoming = cards(section(&html, "upcoming"));
    let os = upcoming
        .iter()
        .find(|c| c.title.starts_with("Operating system update"))
        .unwrap_or_else(|| panic!("no OS update in #upcoming: {upcoming:#?}"));
    assert_eq!((os.kind.as_str(), os.state.as_str()), ("maintenance", "scheduled"));
    // The demo moves the campaign to the weeks ahead; the title carries the plan's dates.
    let year = os.title.rsplit(' ').next().unwrap_or("");
    assert!(year.len() == 4 && year.parse::<u32>().is_ok(), "the title carries the plan's dates: {}", os.title);
    assert!(upcoming.iter().all(|c| c.title != SWITCH), "a cancelled post is not upcoming: {upcoming:#?}");
    let again = upcoming.iter().find(|c| c.title == SWITCH_AGAIN).expect("the new date");
    assert_eq!(again.state, "scheduled");
    let all = posts(&demo);
    let (cancelled, replacement) = (post_titled(&all, SWITCH), post_titled(&all, SWITCH_AGAIN));
    assert_eq!(replacement["replaces"], cancelled["id"], "{replacement}");
    let card = section(&html, "upcoming");
    assert!(
        card.contains(&format!(
            "Replaces <a href=\"/posts/{}\" data-post=\"{}\">{SWITCH}</a> (cancelled)",
            cancelled["id"], cancelled["id"]
        )),
        "the new date links to the post it replaces: {card}"
    );
    // The cancelled one is in the history, linking to its replacement.
    let history = demo.get("/history").text();
    let past = cards(&history);
    assert!(past.iter().any(|c| c.title == SWITCH && c.state == "cancelled"), "{past:#?}");
    let replaced = format!(
        "Replaced by <a href=\"/posts/{}\" data-post=\"{}\">{SWITCH_AGAIN}</a> (scheduled)",
        replacement["id"], replacement["id"]
    );
    assert!(history.contains(&replaced), "{history}");
    assert!(demo.get(&format!("/posts/{}", cancelled["id"])).text().contains(&replaced));

    // Yesterday's incident, resolved.
    let incidents = cards(section(&html, "incidents"));
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!((incidents[0].title.as_str(), incidents[0].state.as_str()), (INCIDENT, "resolved"));
    assert!(cards(section(&html, "ongoing")).is_empty(), "nothing is under way");

    // Every component of the inventory, operational.
    let components = section(&html, "components");
    for id in ["platform", "rack-r1", "rack-r2", "sw1", "sw2", "core1"] {
        let row = format!("id=\"component-{id}\"");
        let at = components.find(&row).unwrap_or_else(|| panic!("component {id} is not listed: {components}"));
        assert!(components[at..].starts_with(&format!("{row} ")), "{components}");
        let tag = &components[at..at + components[at..].find('>').unwrap()];
        assert!(tag.contains("data-status=\"operational\""), "{tag}");
    }
    assert!(html.contains("All systems operational"), "{html}");
    assert!(html.contains("Europe/Berlin"), "times are shown with their zone: {html}");

    // Each post's page: its title, and the timeline of the incident newest first.
    assert_eq!(all.len(), 4, "{all:#?}");
    for p in &all {
        let page = demo.get(&format!("/posts/{}", p["id"])).text();
        let title = p["title"].as_str().unwrap();
        assert!(page.contains(&format!("<h1>{title}</h1>")), "/posts/{} shows its title: {page}", p["id"]);
    }
    let incident = post_titled(&all, INCIDENT);
    let page = demo.get(&format!("/posts/{}", incident["id"])).text();
    let timeline = section(&page, "timeline");
    let states: Vec<&str> = timeline
        .match_indices("<li class=\"update\"")
        .map(|(i, _)| {
            let tag = &timeline[i..i + timeline[i..].find('>').unwrap()];
            let s = &tag[tag.find("data-state=\"").expect("a state") + 12..];
            &s[..s.find('"').unwrap()]
        })
        .collect();
    assert_eq!(states, ["resolved", "monitoring", "identified"], "newest first: {timeline}");

    // A page that is not there, a post or a path no route has.
    for path in ["/posts/9999", "/no/such/page"] {
        let missing = demo.request("GET", path, &[], b"");
        assert_eq!(missing.status, 404, "{path}");
        assert!(missing.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{:?}", missing.headers);
        assert!(missing.text().contains("status overview"), "a page, not a bare error: {}", missing.text());
    }
}

const FEED_PY: &str = r#"
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": bool(d.bozo),
    "problem": str(d.get("bozo_exception", "")),
    "version": d.version,
    "title": d.feed.get("title"),
    "updated": d.feed.get("updated"),
    "entries": [
        {"id": e.get("id"), "updated": e.get("updated"), "title": e.get("title"), "link": e.get("link")}
        for e in d.entries
    ],
}))
"#;

#[test]
fn demo_feed_parses_with_feedparser() {
    if let Err(why) = python_can("import feedparser") {
        return cannot_run("demo_feed_parses_with_feedparser", &why);
    }
    let demo = Demo::start();
    let r = demo.get("/feed.atom");
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/atom+xml")), "{:?}", r.headers);
    let feed = python_json(FEED_PY, &r.body);
    assert_eq!(feed["bozo"], false, "feedparser found a problem: {}", feed["problem"]);
    assert_eq!(feed["version"], "atom10");
    assert_eq!(feed["title"], "Demo Hosting status");

    let all = posts(&demo);
    let entries = feed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), all.len(), "one entry per post: {feed:#}");
    for e in entries {
        for key in ["id", "updated", "title"] {
            assert!(e[key].as_str().is_some_and(|v| !v.is_empty()), "an entry without {key}: {e}");
        }
    }
    let ids: BTreeSet<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let expected: BTreeSet<String> = all.iter().map(|p| demo.url(&format!("/posts/{}", p["id"]))).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect(), "entry ids are the posts' URLs");
    for p in &all {
        let title = p["title"].as_str().unwrap();
        assert!(
            entries.iter().any(|e| e["title"].as_str().unwrap().ends_with(&format!(": {title}"))),
            "no entry for `{title}`: {feed:#}"
        );
    }
    let cancelled = entries.iter().find(|e| e["title"] == format!("Maintenance (cancelled): {SWITCH}"));
    assert!(cancelled.is_some(), "the cancelled switch replacement says so in its title: {feed:#}");

    // A change moves the post's entry to the top, with a newer `updated` (the feed's times are
    // to the second: the change comes in the next one).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = post_titled(&all, SWITCH_AGAIN);
    let before = entries.iter().find(|e| e["id"] == demo.url(&format!("/posts/{}", again["id"]))).unwrap().clone();
    let body = json!({ "body": "The new switch has arrived and is tested." }).to_string();
    let r = demo.admin("POST", &format!("/api/v1/posts/{}/updates", again["id"]), "application/json", body.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let feed = python_json(FEED_PY, &demo.get("/feed.atom").body);
    let first = &feed["entries"][0];
    assert_eq!(first["id"], before["id"], "the changed post comes first: {feed:#}");
    assert!(first["updated"].as_str() > before["updated"].as_str(), "{first} after {before}");
}

const ICS_PY: &str = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.buffer.read())
errors = []
for c in cal.walk():
    errors.extend(str(e) for e in getattr(c, "errors", []))
events = []
for ev in cal.walk("VEVENT"):
    events.append({
        "uid": str(ev.get("UID")),
        "status": str(ev.get("STATUS", "")),
        "summary": str(ev.get("SUMMARY", "")),
        "sequence": int(ev.get("SEQUENCE", 0)),
        "transp": str(ev.get("TRANSP", "")),
        "start": ev.decoded("DTSTART").isoformat(),
        "end": ev.decoded("DTEND").isoformat(),
        "url": str(ev.get("URL", "")),
    })
print(json.dumps({"version": str(cal.get("VERSION")), "method": str(cal.get("METHOD")), "errors": errors, "events": events}))
"#;

/// A comparable instant from RFC 3339 text.
fn instant(s: &str) -> jiff::Timestamp {
    s.parse().unwrap_or_else(|e| panic!("`{s}`: {e}"))
}

#[test]
fn demo_calendar_parses_with_icalendar() {
    if let Err(why) = python_can("import icalendar") {
        return cannot_run("demo_calendar_parses_with_icalendar", &why);
    }
    let demo = Demo::start();
    let r = demo.get("/calendar.ics");
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/calendar")), "{:?}", r.headers);
    let cal = python_json(ICS_PY, &r.body);
    assert_eq!(cal["version"], "2.0");
    assert_eq!(cal["errors"], json!([]), "icalendar found problems");

    // One event per maintenance with a window: the OS update and both switch posts.
    let all = posts(&demo);
    let maintenance: Vec<&Value> = all.iter().filter(|p| p["kind"] == "maintenance").collect();
    let events = cal["events"].as_array().unwrap();
    assert_eq!(events.len(), maintenance.len(), "{cal:#}");
    let uids: BTreeSet<&str> = events.iter().map(|e| e["uid"].as_str().unwrap()).collect();
    assert_eq!(uids.len(), events.len(), "UIDs are unique: {cal:#}");
    for p in &maintenance {
        let url = demo.url(&format!("/posts/{}", p["id"]));
        let e = events.iter().find(|e| e["url"] == url).unwrap_or_else(|| panic!("no event for {url}: {cal:#}"));
        assert_eq!(instant(e["start"].as_str().unwrap()), instant(p["starts"].as_str().unwrap()), "{e}");
        assert_eq!(instant(e["end"].as_str().unwrap()), instant(p["ends"].as_str().unwrap()), "{e}");
        assert_eq!(e["transp"], "TRANSPARENT", "a maintenance makes nobody busy: {e}");
        if p["title"] == SWITCH {
            assert_eq!(e["status"], "CANCELLED", "{e}");
            assert_eq!(e["sequence"], 1, "the cancellation raised SEQUENCE: {e}");
            assert!(e["summary"].as_str().unwrap().starts_with("Cancelled"), "{e}");
        } else {
            assert_eq!(e["status"], "CONFIRMED", "{e}");
        }
    }

    // The UIDs stay when a post is corrected; the corrected event's SEQUENCE rises.
    let again = post_titled(&all, SWITCH_AGAIN);
    let correction = json!({ "note": "the outage is 20 minutes", "body": "Machines on kvm01 to kvm03 lose their network for up to 20 minutes." });
    let r = demo.admin(
        "PATCH",
        &format!("/api/v1/posts/{}", again["id"]),
        "application/json",
        correction.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let later = python_json(ICS_PY, &demo.get("/calendar.ics").body);
    let later_events = later["events"].as_array().unwrap();
    let later_uids: BTreeSet<&str> = later_events.iter().map(|e| e["uid"].as_str().unwrap()).collect();
    assert_eq!(later_uids, uids, "UIDs are stable");
    let url = demo.url(&format!("/posts/{}", again["id"]));
    let (old, new) =
        (events.iter().find(|e| e["url"] == url).unwrap(), later_events.iter().find(|e| e["url"] == url).unwrap());
    assert_eq!(old["uid"], new["uid"]);
    assert_eq!(new["sequence"].as_i64(), old["sequence"].as_i64().map(|s| s + 1), "{old} then {new}");
}

#[test]
fn demo_api_needs_the_token_and_documents_itself() {
    let mut demo = Demo::start();
    let doc = demo.get("/api/v1/openapi.json");
    assert!(doc.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{:?}", doc.headers);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    assert!(doc["paths"]["/api/v1/campaigns"]["post"].is_object(), "{doc}");

    // With the token printed by the demo.
    let r = demo.admin("GET", "/api/v1/campaigns", "application/json", b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let campaigns = r.json();
    assert_eq!(campaigns[0]["id"], "os-update", "{campaigns}");
    assert_eq!(campaigns[0]["state"], "published", "{campaigns}");
    let plan = demo.admin("GET", "/api/v1/campaigns/os-update/plan", "application/json", b"");
    assert_eq!(plan.status, 200);
    assert_eq!(plan.json()["slots"].as_array().map(Vec::len), Some(33), "every machine of the sample has a slot");

    // Without it, or with another, nothing.
    for auth in [None, Some("Bearer fw_0000000000000000000000000000000000000000000000000000000000000000")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let r = demo.request("GET", "/api/v1/campaigns", &headers, b"");
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.json()["error"], "unauthorized");
        let notice = json!({ "kind": "notice", "title": "Not from us", "body": "x" }).to_string();
        let mut with_type = headers.clone();
        with_type.push(("Content-Type", "application/json"));
        let r = demo.request("POST", "/api/v1/posts", &with_type, notice.as_bytes());
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert!(!demo.get("/").text().contains("Not from us"));

    // A write with the token shows on the page at once.
    let notice = json!({ "kind": "notice", "title": "New DNS resolvers", "body": "Use 192.0.2.53 from now on." });
    let r = demo.admin("POST", "/api/v1/posts", "application/json", notice.to_string().as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("the new post's id");
    let notices = cards(section(&demo.get("/").text(), "notices").to_owned().as_str());
    assert_eq!(notices.first().map(|c| (c.id, c.title.as_str())), Some((id, "New DNS resolvers")), "{notices:#?}");

    // Health and metrics over TCP, then a clean stop.
    assert_eq!(demo.get("/healthz").text().trim(), "ok");
    let metrics = demo.get("/metrics").text();
    assert!(metrics.contains("forewarn_campaigns{state=\"published\"} 1"), "{metrics}");
    assert!(
        metrics.contains("forewarn_http_requests_total{method=\"GET\",route=\"/api/v1/campaigns\",status=\"401\"} 2"),
        "{metrics}"
    );
    assert!(demo.terminate(), "forewarn demo exits 0 on SIGTERM\nstderr:\n{}", demo.stderr());
    assert!(demo.stderr().contains("shutting down"), "it says it stops: {}", demo.stderr());
}

// ---------------------------------------------------------------------------
// Zone rules that change under a published campaign.

const BERLIN_INVENTORY: &str = r#"
[platform]
name = "Tz Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon 02:00-03:00"]

[[customers]]
id = "acme"
name = "ACME"

[[customers.contacts]]
name = "Ana"
email = "ana@acme.example"

[[projects]]
id = "web"
customer = "acme"

[[hosts]]
id = "kvm01"
rack = "r1"

[[machines]]
id = "web01"
project = "web"
tier = "production"
host = "kvm01"
"#;

const BERLIN_CAMPAIGN: &str = r#"
id = "reboot-2027-03"
title = "Reboots, March 2027"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-06T00:00:00+01:00"
publish_at = "2027-02-15T09:00:00+01:00"
notice = "72h"
activities = [{ kind = "reboot", duration = "30m" }]
granularity = "15m"
"#;

/// A zoneinfo directory of `release` in which Berlin keeps +03:00 all year.
fn berlin_at_plus_three(dir: &std::path::Path, release: &str) -> String {
    std::fs::create_dir_all(dir.join("Europe")).unwrap();
    std::fs::write(dir.join("Europe/Berlin"), forewarn_model::tz::fixed_tzif(3 * 3600, "+03", "<+03>-3")).unwrap();
    std::fs::write(dir.join("tzdata.zi"), format!("# version {release}\n")).unwrap();
    dir.to_str().unwrap().to_owned()
}

#[test]
fn a_new_time_zone_database_under_a_published_campaign_is_checked_at_start() {
    let tmp = TempDir::new("forewarn-tzdb-test");
    let db = tmp.path().join("forewarn.db");
    let now = ["--now", "2027-02-10T09:00:00Z"];
    let mut serve = Serve::start(&db, &now, &[]);
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", BERLIN_INVENTORY.as_bytes());
    serve.admin_ok("POST", "/api/v1/campaigns", "application/toml", BERLIN_CAMPAIGN.as_bytes());
    serve.admin_ok("POST", "/api/v1/campaigns/reboot-2027-03/plan", "application/json", b"");
    serve.admin_ok("POST", "/api/v1/campaigns/reboot-2027-03/publish", "application/json", b"");
    let plan = serve.admin_ok("GET", "/api/v1/campaigns/reboot-2027-03/plan", "application/json", b"");
    assert_eq!(plan["slots"][0]["start"], "2027-03-01T01:00:00Z", "Monday 02:00 in Berlin at +01:00: {plan}");
    let bundled = forewarn_model::tz::bundled_release();
    let info = format!("forewarn_tzdb_info{{release=\"{bundled}\",source=\"bundled\"}}");
    assert_eq!(serve.metric(&info), Some(1.0), "{}", serve.get("/metrics").text());
    assert_eq!(serve.metric("forewarn_tzdb_slots_outside_window"), Some(0.0));
    serve.kill9();

    // An older directory is refused, naming the setting and how to force it.
    let old = berlin_at_plus_three(&tmp.path().join("old"), "2001a");
    let url = format!("sqlite://{}", db.display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["serve", "--database", &url, "--listen", "127.0.0.1:0", "--tzdir", &old])
        .env_remove("FOREWARN_TZDIR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the time zone database `{old}` (the `tzdir` setting) is refused: its tzdb release 2001a"
        )) && stderr.contains("--tzdir-force"),
        "{stderr}"
    );

    // A newer one in which Berlin keeps +03:00: the published slot (01:00 UTC, 04:00 there
    // now) lies outside its window, and the start says so.
    let new = berlin_at_plus_three(&tmp.path().join("new"), "2099a");
    let serve = Serve::start(&db, &now, &[("FOREWARN_TZDIR", &new)]);
    let info = format!("forewarn_tzdb_info{{release=\"2099a\",source=\"tzdir\",dir=\"{new}\"}}");
    assert_eq!(serve.metric(&info), Some(1.0), "{}", serve.get("/metrics").text());
    assert_eq!(serve.metric("forewarn_tzdb_slots_outside_window"), Some(1.0), "{}", serve.log());
    assert!(serve.log().contains("reboot-2027-03") && serve.log().contains("web01: window: "), "{}", serve.log());
    // Planning again follows the new rules: Monday 02:00 at +03:00.
    serve.admin_ok("POST", "/api/v1/campaigns/reboot-2027-03/plan", "application/json", b"");
    let plan = serve.admin_ok("GET", "/api/v1/campaigns/reboot-2027-03/plan", "application/json", b"");
    assert_eq!(plan["slots"][0]["start"], "2027-02-28T23:00:00Z", "{plan}");
}
