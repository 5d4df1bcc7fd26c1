//! End to end over real TCP: `forewarn serve` (its clock started at a fixed `--now`) says on
//! its status page what is happening. An incident's impact colours the banner and the
//! components it names until it is resolved; a maintenance in its window shows its
//! components under maintenance and moves to in progress and completed by the schedule; a
//! cancelled maintenance is history, linked to its replacement; Atom entries carry the
//! updates; unknown routes get the site's 404 page or the JSON error. Operators set a
//! component's status through the CLI.

mod support;

use std::process::Command;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::{ARRIVAL, Serve, TempDir, cannot_run, cards, poll_until, python_can, python_json, section};

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// The service's clock starts here (a Monday, 11:00 in Berlin) and runs on.
const NOW: &str = "2027-03-01T10:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn at(minutes: i64) -> String {
    (now() + SignedDuration::from_mins(minutes)).to_string()
}

/// `forewarn serve` at [`NOW`] with the example inventory imported (its components:
/// platform, rack-r1, rack-r2, sw1, sw2, core1).
fn serve(tmp: &TempDir) -> Serve {
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--now", NOW], &[]);
    let inventory = std::fs::read(format!("{EXAMPLES}/inventory.toml")).unwrap();
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", &inventory);
    serve
}

#[track_caller]
fn create(serve: &Serve, post: Value) -> Value {
    serve.admin_ok("POST", "/api/v1/posts", "application/json", post.to_string().as_bytes())
}

#[track_caller]
fn update(serve: &Serve, id: &Value, body: Value) -> Value {
    serve.admin_ok("POST", &format!("/api/v1/posts/{id}/updates"), "application/json", body.to_string().as_bytes())
}

/// The banner's status and words.
fn banner(html: &str) -> (String, String) {
    let start = html.find("<section id=\"overall\"").expect("the banner");
    let s = &html[start..start + html[start..].find("</section>").unwrap()];
    let status = &s[s.find("data-status=\"").unwrap() + 13..];
    let words = &s[s.find("<h1>").unwrap() + 4..s.find("</h1>").unwrap()];
    (status[..status.find('"').unwrap()].to_owned(), words.to_owned())
}

/// Each component on the front page: `(id, data-status, the words shown)`.
fn components(html: &str) -> Vec<(String, String, String)> {
    let s = section(html, "components");
    s.match_indices("<li class=\"component\" id=\"component-")
        .map(|(i, m)| {
            let rest = &s[i + m.len()..];
            let id = &rest[..rest.find('"').unwrap()];
            let status = &rest[rest.find("data-status=\"").unwrap() + 13..];
            let words = &rest[rest.find("<span class=\"status\">").unwrap() + 21..rest.find("</span></li>").unwrap()];
            (id.to_owned(), status[..status.find('"').unwrap()].to_owned(), words.to_owned())
        })
        .collect()
}

#[track_caller]
fn component_status(html: &str, id: &str) -> String {
    components(html).into_iter().find(|c| c.0 == id).unwrap_or_else(|| panic!("no component {id}: {html}")).1
}

/// `forewarn --server URL --token T ARGS...`: exit code, stdout, stderr.
fn cli(serve: &Serve, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["--server", &serve.base_url, "--token", &serve.token])
        .args(args)
        .env_remove("FOREWARN_SERVER")
        .env_remove("FOREWARN_TOKEN")
        .output()
        .expect("run forewarn");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn an_incident_colours_the_banner_and_its_components_until_it_is_resolved() {
    let tmp = TempDir::new("forewarn-status-incident");
    let serve = serve(&tmp);
    let html = serve.get("/").text();
    assert_eq!(banner(&html), ("operational".into(), "All systems operational".into()));
    assert!(components(&html).iter().all(|c| c.1 == "operational"), "{html}");

    // An incident of major impact on rack r1, through the CLI.
    let (code, out, err) = cli(
        &serve,
        &[
            "post",
            "create",
            "--kind",
            "incident",
            "--impact",
            "major",
            "--title",
            "Rack r1 loses packets",
            "--body",
            "Machines in rack r1 lose packets; we are looking into it.",
            "--component",
            "rack-r1",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let posts = serve.get("/api/v1/posts").json();
    let incident = posts.as_array().unwrap().iter().find(|p| p["kind"] == "incident").unwrap().clone();
    assert_eq!(incident["impact"], "major", "{incident}");

    let html = serve.get("/").text();
    let (status, words) = banner(&html);
    assert_eq!((status.as_str(), words.as_str()), ("partial_outage", "Partial outage"), "never green: {html}");
    let shown = components(&html);
    // Racks after the services, the worst first.
    assert_eq!(shown[1], ("rack-r1".into(), "partial_outage".into(), "partial outage".into()), "{shown:?}");
    assert!(shown.iter().filter(|c| c.0 != "rack-r1").all(|c| c.1 == "operational"), "only what it names: {shown:?}");
    let ongoing = cards(section(&html, "ongoing"));
    assert_eq!(ongoing.len(), 1, "{ongoing:?}");
    assert!(section(&html, "ongoing").contains("data-impact=\"major\">major impact</span>"), "{html}");
    let api = serve.get("/api/v1/components").json();
    let rack = api.as_array().unwrap().iter().find(|c| c["id"] == "rack-r1").unwrap();
    assert_eq!(
        (&rack["status"], &rack["manual_status"], &rack["derived_status"]),
        (&json!("partial_outage"), &json!("operational"), &json!("partial_outage"))
    );

    // An operator marks rack r1 degraded and sw2 under maintenance by hand: the worse shows.
    let (code, out, err) = cli(&serve, &["component", "set", "rack-r1", "degraded"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("rack-r1 (Rack r1): partial_outage (set by hand: degraded, from posts: partial_outage)"),
        "{out}"
    );
    let (code, out, err) = cli(&serve, &["component", "set", "sw2", "maintenance"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = cli(&serve, &["component", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("sw2 (Switch sw2): maintenance (set by hand: maintenance, from posts: operational)"), "{out}");
    assert!(out.contains("core1 (Router core1): operational\n"), "{out}");
    let (code, _, err) = cli(&serve, &["component", "set", "sw2", "down"]);
    assert_eq!(code, 1);
    assert!(err.contains("422: `status`: unknown component status `down`") && err.contains("partial_outage"), "{err}");
    let (code, _, err) = cli(&serve, &["component", "set", "nope", "degraded"]);
    assert_eq!(code, 1);
    assert!(err.contains("404") && err.contains("nope"), "{err}");

    let html = serve.get("/").text();
    assert_eq!(component_status(&html, "rack-r1"), "partial_outage");
    assert_eq!(component_status(&html, "sw2"), "maintenance");

    // Resolved: rack r1 goes back to what was set by hand, the banner follows the worst.
    update(&serve, &incident["id"], json!({ "state": "resolved", "body": "A cable was replaced." }));
    let html = serve.get("/").text();
    assert_eq!(component_status(&html, "rack-r1"), "degraded");
    assert_eq!(banner(&html).0, "degraded");
    assert!(cards(section(&html, "ongoing")).is_empty());
    // Set back by hand: green again.
    for id in ["rack-r1", "sw2"] {
        let body = json!({ "status": "operational" }).to_string();
        let c = serve.admin_ok("PATCH", &format!("/api/v1/components/{id}"), "application/json", body.as_bytes());
        assert_eq!(c["status"], "operational", "{c}");
    }
    let html = serve.get("/").text();
    assert_eq!(banner(&html), ("operational".into(), "All systems operational".into()));

    // An incident without components still turns the banner; impact none does not.
    let minor = create(&serve, json!({ "kind": "incident", "title": "Slow API", "body": "Slow." }));
    assert_eq!(minor["impact"], "minor", "an incident's default: {minor}");
    assert_eq!(banner(&serve.get("/").text()).0, "degraded");
    update(&serve, &minor["id"], json!({ "state": "resolved", "body": "Fast again." }));
    create(&serve, json!({ "kind": "incident", "title": "Cosmetic", "body": "x", "impact": "none" }));
    assert_eq!(banner(&serve.get("/").text()).0, "operational");

    // Impact is for incidents; a wrong one says what is expected; nothing is written.
    let before = serve.get("/api/v1/posts").json().as_array().unwrap().len();
    let bad = json!({ "kind": "maintenance", "title": "x", "body": "x", "impact": "major" }).to_string();
    let r = serve.admin("POST", "/api/v1/posts", "application/json", bad.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("`impact`"), "{}", r.text());
    let bad = json!({ "kind": "incident", "title": "x", "body": "x", "impact": "high" }).to_string();
    let r = serve.admin("POST", "/api/v1/posts", "application/json", bad.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("none, minor, major or critical"), "{}", r.text());
    assert_eq!(serve.get("/api/v1/posts").json().as_array().unwrap().len(), before);
}

#[test]
fn maintenance_in_its_window_shows_under_maintenance_and_moves_by_the_schedule() {
    let tmp = TempDir::new("forewarn-status-maintenance");
    let serve = serve(&tmp);
    // Began half an hour before the service's start; ends 100 s after it. The service moves
    // posts once a minute: in progress at its next round, completed at the one after.
    let (starts, ends) = (at(-30), (now() + SignedDuration::from_secs(100)).to_string());
    let work = create(
        &serve,
        json!({
            "kind": "maintenance", "title": "Firmware of switch sw1", "body": "Rack r1 may lose its network briefly.",
            "starts": starts, "ends": ends, "components": ["sw1", "rack-r1"],
        }),
    );
    assert_eq!(work["state"], "scheduled");
    let html = serve.get("/").text();
    assert_eq!(banner(&html), ("maintenance".into(), "Maintenance in progress".into()));
    for id in ["sw1", "rack-r1"] {
        let c = components(&html).into_iter().find(|c| c.0 == id).unwrap();
        assert_eq!((c.1.as_str(), c.2.as_str()), ("maintenance", "under maintenance"), "{id}");
    }
    assert_eq!(component_status(&html, "rack-r2"), "operational");
    assert_eq!(
        cards(section(&html, "ongoing")).iter().map(|c| c.id).collect::<Vec<_>>(),
        [work["id"].as_i64().unwrap()]
    );

    let page = format!("/posts/{}", work["id"]);
    let timeline = |state: &str| -> Result<String, String> {
        let html = serve.get(&page).text();
        let t = section(&html, "timeline").to_owned();
        if t.contains(&format!("data-state=\"{state}\"")) { Ok(t) } else { Err(t) }
    };
    let t = poll_until("the post in progress", ARRIVAL, || timeline("in_progress"));
    assert!(t.contains(&format!("<time datetime=\"{starts}\">")), "the update at its start: {t}");
    assert!(t.contains("In progress: the maintenance window has begun."), "{t}");
    let t = poll_until("the post completed", ARRIVAL, || timeline("completed"));
    assert!(t.contains(&format!("<time datetime=\"{ends}\">")), "the update at its end: {t}");
    let post = serve.get(&format!("/api/v1/posts/{}", work["id"])).json();
    assert_eq!(post["state"], "completed");
    let moves: Vec<(&str, &str, &str)> = post["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["state"].as_str().unwrap(), u["at"].as_str().unwrap(), u["author"].as_str().unwrap()))
        .collect();
    assert_eq!(moves, [("in_progress", starts.as_str(), "forewarn"), ("completed", ends.as_str(), "forewarn")]);

    // Over: the components are back, the banner green, the post in the history.
    let html = serve.get("/").text();
    assert_eq!(banner(&html).0, "operational", "{html}");
    assert!(components(&html).iter().all(|c| c.1 == "operational"), "{html}");
    let history = cards(&serve.get("/history").text());
    assert!(history.iter().any(|c| c.title == "Firmware of switch sw1" && c.state == "completed"), "{history:?}");
}

#[test]
fn a_cancelled_maintenance_is_history_and_links_to_its_replacement() {
    let tmp = TempDir::new("forewarn-status-replaced");
    let serve = serve(&tmp);
    let old = create(
        &serve,
        json!({
            "kind": "maintenance", "title": "Core router update", "body": "The core router gets new firmware.",
            "starts": at(2 * 24 * 60), "ends": at(2 * 24 * 60 + 60), "components": ["core1"],
        }),
    );
    // Not cancelled yet: it cannot be replaced.
    let early = json!({ "kind": "maintenance", "title": "x", "body": "x", "replaces": old["id"] }).to_string();
    let r = serve.admin("POST", "/api/v1/posts", "application/json", early.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("cancel it first"), "{}", r.text());

    update(&serve, &old["id"], json!({ "state": "cancelled", "body": "Cancelled: the firmware was withdrawn." }));
    let new_starts = at(12 * 24 * 60);
    let old_id = old["id"].to_string();
    let (code, out, err) = cli(
        &serve,
        &[
            "post",
            "create",
            "--kind",
            "maintenance",
            "--title",
            "Core router update (new date)",
            "--body",
            "The core router gets the fixed firmware.",
            "--starts",
            &new_starts,
            "--ends",
            &at(12 * 24 * 60 + 60),
            "--component",
            "core1",
            "--replaces",
            &old_id,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let posts = serve.get("/api/v1/posts").json();
    let new = posts.as_array().unwrap().iter().find(|p| p["replaces"] == old["id"]).expect("the replacement").clone();

    // The front page: only the new date is upcoming, linking to what it replaces.
    let html = serve.get("/").text();
    let upcoming = cards(section(&html, "upcoming"));
    assert_eq!(upcoming.iter().map(|c| c.id).collect::<Vec<_>>(), [new["id"].as_i64().unwrap()], "{upcoming:?}");
    let replaces =
        format!("Replaces <a href=\"/posts/{old_id}\" data-post=\"{old_id}\">Core router update</a> (cancelled)");
    assert!(section(&html, "upcoming").contains(&replaces), "{html}");

    // The history has the cancelled one, linking to the new one; so has its page.
    let replaced_by = format!(
        "Replaced by <a href=\"/posts/{}\" data-post=\"{}\">Core router update (new date)</a> (scheduled)",
        new["id"], new["id"]
    );
    let history = serve.get("/history").text();
    let past = cards(&history);
    assert!(past.iter().any(|c| c.id.to_string() == old_id && c.state == "cancelled"), "{past:?}");
    assert!(history.contains(&replaced_by), "{history}");
    assert!(serve.get(&format!("/posts/{old_id}")).text().contains(&replaced_by));
    assert!(serve.get(&format!("/posts/{}", new["id"])).text().contains(&replaces));

    // Replaced once only.
    let again = json!({ "kind": "maintenance", "title": "x", "body": "x", "replaces": old["id"] }).to_string();
    let r = serve.admin("POST", "/api/v1/posts", "application/json", again.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("already replaced"), "{}", r.text());
}

const FEED_PY: &str = r#"
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": bool(d.bozo),
    "problem": str(d.get("bozo_exception", "")),
    "entries": [{"id": e.id, "updated": e.updated, "title": e.title, "content": e.content[0].value} for e in d.entries],
}))
"#;

#[test]
fn atom_entries_carry_the_updates_and_move_with_them() {
    if let Err(why) = python_can("import feedparser") {
        return cannot_run("atom_entries_carry_the_updates_and_move_with_them", &why);
    }
    let tmp = TempDir::new("forewarn-status-atom");
    let serve = serve(&tmp);
    let incident = create(
        &serve,
        json!({ "kind": "incident", "title": "Mail delayed", "body": "Outgoing mail is delayed.", "impact": "minor" }),
    );
    create(&serve, json!({ "kind": "notice", "title": "New resolvers", "body": "Use 192.0.2.53." }));
    update(&serve, &incident["id"], json!({ "state": "identified", "body": "A full queue on mx2." }));
    // The feed's times are to the second: the next update comes in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    update(&serve, &incident["id"], json!({ "state": "resolved", "body": "The queue is empty again." }));

    let feed = python_json(FEED_PY, &serve.get("/feed.atom").body);
    assert_eq!(feed["bozo"], false, "{}", feed["problem"]);
    let url = serve.url(&format!("/posts/{}", incident["id"]));
    let first = &feed["entries"][0];
    assert_eq!(first["id"], url.as_str(), "the changed post comes first: {feed:#}");
    assert_eq!(first["title"], "Incident (resolved): Mail delayed");
    let content = first["content"].as_str().unwrap();
    let order: Vec<usize> = [
        "· resolved",
        "The queue is empty again.",
        "· identified",
        "A full queue on mx2.",
        "Outgoing mail is delayed.",
    ]
    .iter()
    .map(|part| content.find(part).unwrap_or_else(|| panic!("no `{part}` in the entry: {content}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first, then the post: {content}");
    assert!(content.contains("CET"), "times in the site's zone, named: {content}");
    // The entry's `updated` is the newest update's time.
    let post = serve.get(&format!("/api/v1/posts/{}", incident["id"])).json();
    let newest: Timestamp =
        post["updates"].as_array().unwrap().last().unwrap()["at"].as_str().unwrap().parse().unwrap();
    let updated: Timestamp = first["updated"].as_str().unwrap().parse().unwrap();
    assert_eq!(updated.as_second(), newest.as_second(), "{first}");
}

#[test]
fn unknown_routes_get_the_404_page_or_the_json_error() {
    let tmp = TempDir::new("forewarn-status-404");
    let serve = serve(&tmp);
    for path in ["/nope", "/posts/9999", "/posts/x/y", "/history/2027"] {
        let r = serve.request("GET", path, &[], b"");
        assert_eq!(r.status, 404, "{path}");
        assert!(r.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{path}: {:?}", r.headers);
        let html = r.text();
        assert!(html.starts_with("<!doctype html>") && html.contains("status overview"), "{path}: {html}");
    }
    for path in ["/api", "/api/v1/nope", "/api/v2/posts", "/api/v1/campaigns/x/nope"] {
        let r = serve.request("GET", path, &[], b"");
        assert_eq!(r.status, 404, "{path}");
        assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{path}: {:?}", r.headers);
        let v = r.json();
        assert_eq!(v["error"], "not_found", "{path}: {v}");
        assert!(v["message"].as_str().unwrap().contains(path), "{path}: {v}");
    }
    // A method an API route does not take: 405 with the JSON error, and the methods it takes.
    let r = serve.request("DELETE", "/api/v1/posts", &[], b"");
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(r.json()["error"], "method_not_allowed", "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("DELETE"), "{}", r.text());
    let allow = r.header("allow").unwrap_or_default().to_ascii_uppercase();
    assert!(allow.contains("GET") && allow.contains("POST"), "Allow: {allow}");
    // Elsewhere a page says so.
    let r = serve.request("POST", "/history", &[], b"");
    assert_eq!(r.status, 405);
    assert!(r.text().contains("Method not allowed"), "{}", r.text());
    // The request log counts them under one route, not one per path.
    let metrics = serve.get("/metrics").text();
    assert!(metrics.contains("route=\"unmatched\",status=\"404\""), "{metrics}");
}
