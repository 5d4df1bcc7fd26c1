//! The API story: what an operator does through `/api/v1` in one season, told once to a
//! service on SQLite and once to one on PostgreSQL, through the real router (every
//! middleware, extractor and handler) with a clock the test sets. Every refusal is checked
//! twice: by what the client is told (status, error code, a message naming what is wrong)
//! and by the database, which must be exactly as it was before.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use forewarn_server::actions::record_slot_progress;
use forewarn_server::config::Webhook;
use forewarn_server::{App, Clock, Settings};
use forewarn_status::{Component, Post, Revision, Update};
use forewarn_store::testing::{TempDir, TestPostgres};
use forewarn_store::{AuditEntry, PlanSummary, Store, StoredCampaign, StoredInventory};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

const INVENTORY: &str = include_str!("../../../examples/inventory.toml");
const CAMPAIGN: &str = include_str!("../../../examples/os-update.toml");
const CAMPAIGN_ID: &str = "os-update-2027-03";
const TOKEN: &str = "fw_the-story-token";

// ---------------------------------------------------------------------------
// The service under test.

/// A clock the test moves: every request happens a minute after the one before, so the
/// audit log, the timelines and the pages have distinct, known times.
#[derive(Debug)]
struct TestClock {
    now: Mutex<Timestamp>,
    ticks: AtomicU64,
}

impl TestClock {
    fn new(start: Timestamp) -> TestClock {
        TestClock { now: Mutex::new(start), ticks: AtomicU64::new(0) }
    }

    fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap();
        *now = now.checked_add(by).unwrap();
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap()
    }

    fn monotonic(&self) -> Duration {
        Duration::from_micros(self.ticks.fetch_add(250, Ordering::Relaxed))
    }
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
enum Auth<'a> {
    /// `Authorization: Bearer TOKEN` with the story's token.
    Token,
    /// No `Authorization` header.
    Anonymous,
    /// This `Authorization` header.
    Header(&'a str),
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("the answer is UTF-8")
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the answer ({}) is not JSON: {e}: {}", self.status, self.text()))
    }

    fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts the status and gives the body as JSON.
    #[track_caller]
    fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "answer: {}", self.text());
        self.json()
    }

    /// Asserts a refusal: its status, its error code, and that its message (with every
    /// diagnostic) names each of `words`. Gives the whole error text.
    #[track_caller]
    fn refused(&self, status: StatusCode, code: &str, words: &[&str]) -> String {
        let v = self.expect(status);
        assert_eq!(v["error"], code, "error code of {v}");
        let text = error_text(&v);
        for word in words {
            assert!(text.contains(word), "the error does not say `{word}`: {text}");
        }
        text
    }
}

/// An error's message and each diagnostic's text, one a line.
fn error_text(v: &Value) -> String {
    let mut text = v["message"].as_str().unwrap_or_default().to_owned();
    for e in v["errors"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(e["text"].as_str().unwrap_or_default());
    }
    text
}

#[derive(Debug)]
struct Api {
    app: Arc<App>,
    router: Router,
    clock: Arc<TestClock>,
    store: Store,
}

impl Api {
    /// The service on `store`, with the story's token created through the store.
    async fn new(store: Store, start: Timestamp) -> Api {
        Api::with_webhooks(store, start, Vec::new()).await
    }

    /// [`Api::new`], telling these webhooks.
    async fn with_webhooks(store: Store, start: Timestamp, webhooks: Vec<Webhook>) -> Api {
        store
            .create_token(start, "test", "the story", &forewarn_server::auth::hash_secret(TOKEN))
            .await
            .expect("create the token");
        Api::started(store, start, webhooks)
    }

    /// The service on a store that has the story's token already (a restart).
    fn started(store: Store, start: Timestamp, webhooks: Vec<Webhook>) -> Api {
        let clock = Arc::new(TestClock::new(start));
        let config = Settings {
            database: Some("sqlite://unused.db".into()),
            listen: Some("127.0.0.1:0".into()),
            base_url: Some("https://status.example.net".into()),
            smtp: None,
            site_name: Some("Story Hosting".into()),
            webhooks: Some(webhooks),
            ..Settings::default()
        }
        .resolve()
        .expect("a valid configuration");
        let app = App::new(store.clone(), clock.clone(), config);
        Api { app: app.clone(), router: forewarn_server::router(app), clock, store }
    }

    async fn send(&self, method: Method, uri: &str, auth: Auth<'_>, ctype: Option<&str>, body: Body) -> Reply {
        self.clock.advance(SignedDuration::from_mins(1));
        let mut request = Request::builder().method(method).uri(uri);
        match auth {
            Auth::Token => request = request.header("authorization", format!("Bearer {TOKEN}")),
            Auth::Header(h) => request = request.header("authorization", h),
            Auth::Anonymous => {}
        }
        if let Some(ctype) = ctype {
            request = request.header("content-type", ctype);
        }
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("read the body");
        Reply { status, headers, body }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, Auth::Token, None, Body::empty()).await
    }

    async fn get_anonymous(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, Auth::Anonymous, None, Body::empty()).await
    }

    async fn post(&self, uri: &str, ctype: &str, body: impl Into<Body>) -> Reply {
        self.send(Method::POST, uri, Auth::Token, Some(ctype), body.into()).await
    }

    async fn post_json(&self, uri: &str, body: Value) -> Reply {
        self.post(uri, "application/json", body.to_string()).await
    }

    async fn post_toml(&self, uri: &str, body: &str) -> Reply {
        self.post(uri, "application/toml", body.to_owned()).await
    }

    async fn patch_json(&self, uri: &str, body: Value) -> Reply {
        self.send(Method::PATCH, uri, Auth::Token, Some("application/json"), body.to_string().into()).await
    }

    /// `POST /api/v1/campaigns/{id}/{action}` without a body.
    async fn campaign_action(&self, id: &str, action: &str) -> Reply {
        self.post(&format!("/api/v1/campaigns/{id}/{action}"), "application/json", "").await
    }

    /// Everything the database holds that a request could change.
    async fn snapshot(&self) -> Snapshot {
        let s = &self.store;
        let posts = s.posts().await.unwrap();
        let campaigns = s.campaigns().await.unwrap();
        let mut updates = Vec::new();
        let mut revisions = Vec::new();
        for p in &posts {
            updates.push(s.updates(p.id).await.unwrap());
            revisions.push(s.revisions(p.id).await.unwrap());
        }
        let mut plans = Vec::new();
        for c in &campaigns {
            plans.push(s.plans(&c.id).await.unwrap());
        }
        Snapshot {
            audit: s.audit(1000).await.unwrap(),
            posts,
            campaigns,
            inventory: s.inventory(None).await.unwrap(),
            components: s.components().await.unwrap(),
            updates,
            revisions,
            plans,
        }
    }

    /// Asserts that the database is as `before`.
    async fn unchanged(&self, before: &Snapshot, after_what: &str) {
        let now = self.snapshot().await;
        assert!(now == *before, "{after_what} changed the database:\nbefore: {before:#?}\nafter: {now:#?}");
    }
}

#[derive(Debug, PartialEq)]
struct Snapshot {
    audit: Vec<AuditEntry>,
    posts: Vec<Post>,
    campaigns: Vec<StoredCampaign>,
    inventory: Option<StoredInventory>,
    components: Vec<Component>,
    updates: Vec<Vec<Update>>,
    revisions: Vec<Vec<Revision>>,
    plans: Vec<Vec<PlanSummary>>,
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("`{s}` is not an instant: {e}"))
}

fn berlin() -> TimeZone {
    forewarn_model::Zone::get("Europe/Berlin").unwrap().tz().clone()
}

/// A range of days as people write it, each date named once: `1–5 March 2027`,
/// `26 February – 5 March 2027`. Written here from the dates alone, to compare with titles.
fn days_in_words(first: Date, last: Date) -> String {
    let month = |d: Date| d.strftime("%B").to_string();
    if first == last {
        format!("{} {} {}", first.day(), month(first), first.year())
    } else if (first.year(), first.month()) == (last.year(), last.month()) {
        format!("{}–{} {} {}", first.day(), last.day(), month(last), last.year())
    } else if first.year() == last.year() {
        format!("{} {} – {} {} {}", first.day(), month(first), last.day(), month(last), last.year())
    } else {
        format!("{} {} {} – {} {} {}", first.day(), month(first), first.year(), last.day(), month(last), last.year())
    }
}

/// `n` bytes from a fixed xorshift sequence: garbage, the same on every run.
fn garbage(n: usize, printable: bool) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = (x >> 24) as u8;
            if printable { b' ' + b % 95 } else { b }
        })
        .collect()
}

/// `/metrics`' count of responses for one method, route and status (0 when absent).
fn requests_counted(metrics: &str, method: &str, route: &str, status: u16) -> u64 {
    let key = format!("forewarn_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&key)).map_or(0, |n| n.parse().expect("a count"))
}

/// The `<section id="ID">` of a page, up to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\">")).unwrap_or_else(|| panic!("no section #{id} in {html}"));
    let end = html[start..].find("</section>").expect("the section ends") + start;
    &html[start..end]
}

// ---------------------------------------------------------------------------
// The story, chapter by chapter; each chapter continues where the one before stopped.

/// Wrong or missing credentials get 401 and change nothing; reading posts needs none.
async fn access(api: &Api) {
    let before = api.snapshot().await;
    let inventory = || Body::from(INVENTORY);
    for auth in [
        Auth::Anonymous,
        Auth::Header("Bearer fw_not-the-token"),
        Auth::Header(&format!("Basic {TOKEN}")),
        Auth::Header("Bearer "),
        Auth::Header(TOKEN),
    ] {
        let r = api.send(Method::POST, "/api/v1/inventory", auth, Some("application/toml"), inventory()).await;
        r.refused(StatusCode::UNAUTHORIZED, "unauthorized", &["Authorization: Bearer"]);
        let r = api.send(Method::GET, "/api/v1/campaigns", auth, None, Body::empty()).await;
        r.refused(StatusCode::UNAUTHORIZED, "unauthorized", &[]);
        let post = json!({ "kind": "notice", "title": "Hello", "body": "Nobody may write this." });
        let r = api.send(Method::POST, "/api/v1/posts", auth, Some("application/json"), post.to_string().into()).await;
        r.refused(StatusCode::UNAUTHORIZED, "unauthorized", &[]);
        let cancel = format!("/api/v1/campaigns/{CAMPAIGN_ID}/cancel");
        let r = api.send(Method::POST, &cancel, auth, None, Body::empty()).await;
        r.refused(StatusCode::UNAUTHORIZED, "unauthorized", &[]);
    }
    api.unchanged(&before, "requests without a valid token").await;
    // The posts are public anyway.
    assert_eq!(api.get_anonymous("/api/v1/posts").await.expect(StatusCode::OK), json!([]));
    assert_eq!(api.get_anonymous("/api/v1/openapi.json").await.status, StatusCode::OK);
}

/// Inventories that are not valid are refused with every problem and its line.
async fn bad_inventories(api: &Api) {
    let before = api.snapshot().await;

    // Malformed TOML: the message names line 3.
    let r = api.post_toml("/api/v1/inventory", "[platform]\nname = \"x\"\ntime_zone = \n").await;
    let v = r.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"], "invalid");
    let e = &v["errors"][0];
    assert_eq!(e["line"], 3, "{v}");
    assert!(e["text"].as_str().unwrap().contains(":3:"), "{v}");
    assert!(e["message"].as_str().unwrap().contains("TOML"), "{v}");

    // An unknown field in the first machine: named, with its line and field path.
    let at = INVENTORY.find("[[machines]]\n").expect("the example has machines") + "[[machines]]\n".len();
    let with_colour = format!("{}colour = \"blue\"\n{}", &INVENTORY[..at], &INVENTORY[at..]);
    let line = with_colour[..at].lines().count() + 1;
    let r = api.post_toml("/api/v1/inventory", &with_colour).await;
    let text = r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["colour", "machines[0]"]);
    let v = r.json();
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{text}");
    assert_eq!(v["errors"][0]["line"], line, "{text}");
    assert_eq!(v["errors"][0]["path"], "machines[0]", "{text}");

    // Several problems at once: every one is reported, not just the first.
    let two =
        INVENTORY.replacen("rack = \"r1\"", "rack = 7", 1).replacen("tier = \"staging\"", "tier = \"stagging\"", 1);
    let v = api.post_toml("/api/v1/inventory", &two).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["errors"].as_array().unwrap().len() >= 2, "every problem is reported: {v}");
    assert!(v["errors"].as_array().unwrap().iter().all(|e| e["line"].is_u64()), "each with its line: {v}");

    // The same in JSON: an unknown top-level key.
    let r = api
        .post_json("/api/v1/inventory", json!({ "platform": { "name": "x", "time_zone": "UTC" }, "rackz": [] }))
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["rackz"]);

    // 1 MB of random bytes, and 1 MB of printable garbage.
    let r = api.post("/api/v1/inventory", "application/toml", garbage(1 << 20, false)).await;
    assert!(r.status.is_client_error(), "1 MB of random bytes: {} {}", r.status, r.text());
    assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text());
    let r = api.post("/api/v1/inventory", "application/toml", garbage(1 << 20, true)).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["TOML"]);
    let r = api.post("/api/v1/inventory", "application/json", garbage(1 << 20, true)).await;
    assert!(r.status.is_client_error(), "1 MB of garbage as JSON: {} {}", r.status, r.text());

    // A Content-Type that is no file format; none at all.
    let r = api.post("/api/v1/inventory", "text/plain", INVENTORY).await;
    r.refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &["application/toml"]);
    let r = api.send(Method::POST, "/api/v1/inventory", Auth::Token, None, INVENTORY.into()).await;
    r.refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &[]);

    // Nothing to plan against yet.
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.refused(StatusCode::CONFLICT, "no_inventory", &["import"]);
    api.get("/api/v1/inventory").await.refused(StatusCode::CONFLICT, "no_inventory", &[]);

    api.unchanged(&before, "refused inventories").await;
}

async fn import_inventory(api: &Api) {
    let v = api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["machines"], 33, "{v}");
    assert_eq!(v["summary"]["platform"], "Lindenau Hosting");
    let shown = api.get("/api/v1/inventory").await.expect(StatusCode::OK);
    assert_eq!((shown["version"].clone(), shown["format"].clone()), (json!(1), json!("toml")));
    assert_eq!(shown["by"], "token:the story");
    // The inventory's platform, racks and network devices became components.
    let ids: Vec<String> = api.store.components().await.unwrap().into_iter().map(|c| c.id).collect();
    for id in ["platform", "rack-r1", "rack-r2", "sw1", "sw2", "core1"] {
        assert!(ids.iter().any(|c| c == id), "component {id} is missing: {ids:?}");
    }
    let audit = api.store.audit(1000).await.unwrap();
    let import = audit.iter().find(|a| a.action == "inventory.import").expect("the import is in the audit log");
    assert_eq!((import.actor.as_str(), import.subject.as_str()), ("token:the story", "1"));
}

/// A campaign is created once; a second time is a conflict; invalid ones change nothing.
async fn create_campaign(api: &Api) {
    let before = api.snapshot().await;
    let backwards = CAMPAIGN
        .replace("id = \"os-update-2027-03\"", "id = \"backwards\"")
        .replace("starts = \"2027-03-01T00:00:00+01:00\"", "starts = \"2027-03-06T00:00:00+01:00\"")
        .replace("ends = \"2027-03-06T00:00:00+01:00\"", "ends = \"2027-03-01T00:00:00+01:00\"");
    assert!(backwards.contains("ends = \"2027-03-01"), "the example changed: fix this test");
    let text = api.post_toml("/api/v1/campaigns", &backwards).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        &["ends"],
    );
    assert!(text.contains("starts"), "the error names both ends of the range: {text}");
    let unknown = CAMPAIGN.replace("id = \"os-update-2027-03\"", "id = \"unknown\"\nowner = \"ops\"");
    api.post_toml("/api/v1/campaigns", &unknown).await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["owner"]);
    api.post("/api/v1/campaigns", "text/plain", CAMPAIGN).await.refused(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        &[],
    );
    api.unchanged(&before, "refused campaigns").await;

    let v = api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    assert_eq!(v["id"], CAMPAIGN_ID);
    assert_eq!(v["state"], "draft");
    assert_eq!(v["inventory_version"], 1);
    assert_eq!(v["title"], "Operating system update, March 2027");

    let before = api.snapshot().await;
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.refused(StatusCode::CONFLICT, "conflict", &[CAMPAIGN_ID]);
    api.unchanged(&before, "creating the campaign again").await;

    let listed = api.get("/api/v1/campaigns").await.expect(StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], CAMPAIGN_ID);
}

/// A draft cannot be paused, resumed or published without a plan.
async fn draft_refusals(api: &Api) {
    let before = api.snapshot().await;
    for action in ["pause", "resume"] {
        let r = api.campaign_action(CAMPAIGN_ID, action).await;
        assert!(r.status.is_client_error(), "{action} a draft: {} {}", r.status, r.text());
        assert!(error_text(&r.json()).contains("draft"), "{action}: {}", r.text());
    }
    api.campaign_action(CAMPAIGN_ID, "publish").await.refused(StatusCode::NOT_FOUND, "not_found", &["no plan"]);
    api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan")).await.refused(StatusCode::NOT_FOUND, "not_found", &[]);
    api.campaign_action("no-such-campaign", "plan").await.refused(
        StatusCode::NOT_FOUND,
        "not_found",
        &["no-such-campaign"],
    );
    api.campaign_action("no-such-campaign", "cancel").await.refused(StatusCode::NOT_FOUND, "not_found", &[]);
    api.unchanged(&before, "refused state changes of a draft").await;
}

/// Two plans of the same inputs are the same plan; the plan is a valid plan file.
async fn plan_twice(api: &Api) -> Value {
    for version in [1, 2] {
        let v = api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
        assert_eq!(v["version"], version, "{v}");
        assert_eq!(v["campaign"], CAMPAIGN_ID);
        assert_eq!(v["inventory_version"], 1);
        assert_eq!(v["summary"]["targets"], 33, "{v}");
    }
    let r = api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan")).await;
    let plan = r.expect(StatusCode::OK);
    assert!(r.content_type().starts_with("application/json"), "{}", r.content_type());
    assert_eq!(plan["campaign"], CAMPAIGN_ID);
    let slots = plan["slots"].as_array().expect("slots is a list");
    let unscheduled = plan["unscheduled"].as_array().expect("unscheduled is a list");
    assert_eq!(slots.len() + unscheduled.len(), 33, "every machine has a slot or a reason");
    assert!(!slots.is_empty());
    let (range_start, range_end) = (ts("2027-03-01T00:00:00+01:00"), ts("2027-03-06T00:00:00+01:00"));
    for s in slots {
        let machine = s["machine"].as_str().unwrap_or_else(|| panic!("slot without machine: {s}"));
        assert!(!machine.is_empty());
        let (start, end) = (ts(s["start"].as_str().expect("start")), ts(s["end"].as_str().expect("end")));
        assert!(s["reason"].as_str().is_some_and(|r| !r.is_empty()), "slot without reason: {s}");
        assert_eq!(end.duration_since(start), SignedDuration::from_mins(30), "20m update + 10m reboot: {s}");
        assert!(range_start <= start && end <= range_end, "slot outside the campaign: {s}");
        assert!(s["activities"].is_array(), "{s}");
    }
    for u in unscheduled {
        assert!(u["machine"].is_string() && u["reason"].as_str().is_some_and(|r| !r.is_empty()), "{u}");
    }

    let first = api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan?version=1")).await.expect(StatusCode::OK);
    assert_eq!(first["slots"], plan["slots"], "the planner is deterministic");
    let diff = api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan/diff?from=1&to=2")).await.expect(StatusCode::OK);
    assert_eq!(
        diff,
        json!({ "from": 1, "to": 2, "moved": [], "no_longer_scheduled": [], "newly_scheduled": [] }),
        "the same inputs plan the same"
    );
    let versions = api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plans")).await.expect(StatusCode::OK);
    let numbers: Vec<i64> = versions.as_array().unwrap().iter().map(|p| p["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [2, 1], "newest first: {versions}");
    api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan?version=3")).await.refused(
        StatusCode::NOT_FOUND,
        "not_found",
        &["version 3"],
    );
    plan
}

/// Publishing makes the campaign's maintenance post, its dates rendered from the plan.
async fn publish(api: &Api, plan: &Value) -> i64 {
    let v = api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);
    assert_eq!(v["state"], "published");
    assert_eq!(v["published_plan"], 2);
    let post_id = v["post"].as_i64().expect("the answer names the post");

    let post = api.get_anonymous(&format!("/api/v1/posts/{post_id}")).await.expect(StatusCode::OK);
    assert_eq!(post["campaign"], CAMPAIGN_ID, "{post}");
    assert_eq!((post["kind"].as_str(), post["state"].as_str()), (Some("maintenance"), Some("scheduled")));
    let slots = plan["slots"].as_array().unwrap();
    let first = slots.iter().map(|s| ts(s["start"].as_str().unwrap())).min().unwrap();
    let last = slots.iter().map(|s| ts(s["end"].as_str().unwrap())).max().unwrap();
    assert_eq!(ts(post["starts"].as_str().unwrap()), first, "the post starts with the first slot");
    assert_eq!(ts(post["ends"].as_str().unwrap()), last, "the post ends with the last slot");
    let first_day = first.to_zoned_datetime(berlin()).date();
    let last_day = last.checked_sub(SignedDuration::from_nanos(1)).unwrap().to_zoned_datetime(berlin()).date();
    let title = post["title"].as_str().unwrap();
    assert_eq!(title, format!("Operating system update {}", days_in_words(first_day, last_day)), "{post}");
    assert!(first_day >= Date::constant(2027, 3, 1) && last_day <= Date::constant(2027, 3, 5), "{title}");

    let listed = api.get_anonymous("/api/v1/posts").await.expect(StatusCode::OK);
    let linked: Vec<&Value> = listed.as_array().unwrap().iter().filter(|p| p["campaign"] == CAMPAIGN_ID).collect();
    assert_eq!(linked.len(), 1, "one post for the campaign: {listed}");
    assert_eq!(linked[0]["id"], post_id);

    // The public page shows it as upcoming maintenance, with its window from the plan.
    let html = api.get_anonymous("/").await.text();
    let upcoming = section(&html, "upcoming");
    assert!(upcoming.contains(&format!("id=\"post-{post_id}\"")), "{upcoming}");
    assert!(upcoming.contains(title), "{upcoming}");
    assert!(upcoming.contains(&format!("data-starts=\"{first}\"")), "{upcoming}");

    let before = api.snapshot().await;
    api.campaign_action(CAMPAIGN_ID, "publish").await.refused(StatusCode::CONFLICT, "conflict", &["published"]);
    api.unchanged(&before, "publishing twice").await;
    post_id
}

/// Posts that are not right are refused, each with what is wrong, and change nothing.
async fn bad_posts(api: &Api, campaign_post: i64) {
    let before = api.snapshot().await;

    // The seed's kind of typo: the campaign runs 1–5 March 2027.
    let r = api
        .post_json(
            "/api/v1/posts",
            json!({
                "kind": "maintenance",
                "campaign": CAMPAIGN_ID,
                "title": "OS update: the last machines",
                "body": "The last production machines are updated on Saturday 2027-02-06 at night.",
            }),
        )
        .await;
    let text = r.refused(StatusCode::UNPROCESSABLE_ENTITY, "date_conflict", &["Saturday 2027-02-06", CAMPAIGN_ID]);
    assert!(text.contains("outside"), "says what the conflict is: {text}");
    assert!(text.contains("1–5 March 2027") || text.contains("2027-03-01"), "shows the campaign's dates: {text}");

    // A weekday that is not the date's, in an update and in a correction of the campaign's post.
    let r = api
        .post_json(
            &format!("/api/v1/posts/{campaign_post}/updates"),
            json!({ "body": "Production follows on Wednesday 2027-03-02." }),
        )
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "date_conflict", &["Wednesday 2027-03-02", "Tuesday"]);
    let r = api
        .patch_json(
            &format!("/api/v1/posts/{campaign_post}"),
            json!({ "note": "the dates were wrong", "body": "Every machine is updated by 2027-04-05." }),
        )
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "date_conflict", &["2027-04-05"]);

    let maintenance = |extra: Value| {
        let mut v = json!({ "kind": "maintenance", "title": "Switch firmware", "body": "sw2 gets new firmware." });
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    // Dates in the wrong order.
    let r = api
        .post_json(
            "/api/v1/posts",
            maintenance(json!({ "starts": "2027-04-10T22:00:00Z", "ends": "2027-04-10T21:00:00Z" })),
        )
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["`ends`", "`starts`"]);
    // Unknown fields.
    let r = api.post_json("/api/v1/posts", maintenance(json!({ "severity": "high" }))).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["severity"]);
    let r = api.post_json(&format!("/api/v1/posts/{campaign_post}/updates"), json!({ "body": "x", "mood": 1 })).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["mood"]);
    // An unknown component, among known ones.
    let r = api.post_json("/api/v1/posts", maintenance(json!({ "components": ["sw2", "sw9"] }))).await;
    let text = r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["sw9"]);
    assert!(text.contains("sw1"), "lists the components there are: {text}");
    // A state the kind does not have, an unknown kind, a blank title, not JSON at all.
    let r = api.post_json("/api/v1/posts", maintenance(json!({ "state": "resolved" }))).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["resolved", "scheduled"]);
    let r = api.post_json("/api/v1/posts", json!({ "kind": "outage", "title": "t", "body": "b" })).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["outage"]);
    let r = api.post_json("/api/v1/posts", maintenance(json!({ "title": "  " }))).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["title"]);
    let r = api.post("/api/v1/posts", "application/json", "{\"kind\": \"notice\",").await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text());
    let r = api.post("/api/v1/posts", "application/json", garbage(1 << 20, false)).await;
    assert!(r.status.is_client_error(), "1 MB of random bytes as a post: {} {}", r.status, r.text());
    // A wrong Content-Type.
    let r = api.post("/api/v1/posts", "application/x-www-form-urlencoded", "kind=notice&title=t&body=b").await;
    r.refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &["application/json"]);
    let r = api.post("/api/v1/posts", "application/toml", "kind = \"notice\"").await;
    r.refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &[]);
    // Posts and campaigns that do not exist.
    let r = api.post_json("/api/v1/posts", maintenance(json!({ "campaign": "no-such-campaign" }))).await;
    r.refused(StatusCode::NOT_FOUND, "not_found", &["no-such-campaign"]);
    api.post_json("/api/v1/posts/9999/updates", json!({ "body": "x" })).await.refused(
        StatusCode::NOT_FOUND,
        "not_found",
        &["9999"],
    );
    api.get_anonymous("/api/v1/posts/9999").await.refused(StatusCode::NOT_FOUND, "not_found", &[]);
    api.get_anonymous("/api/v1/posts/nine").await.refused(StatusCode::NOT_FOUND, "not_found", &[]);
    // A correction without a note, and one that changes nothing.
    let r = api.patch_json(&format!("/api/v1/posts/{campaign_post}"), json!({ "body": "New text." })).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["note"]);
    let r = api.patch_json(&format!("/api/v1/posts/{campaign_post}"), json!({ "note": "  ", "body": "x" })).await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["note"]);
    let r = api
        .patch_json(
            &format!("/api/v1/posts/{campaign_post}"),
            json!({ "note": "nothing", "ends": "2027-01-01T00:00:00Z" }),
        )
        .await;
    r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["`ends`"]);

    api.unchanged(&before, "refused posts").await;

    // A right date in the campaign's range passes the same check.
    let r = api
        .post_json(
            &format!("/api/v1/posts/{campaign_post}/updates"),
            json!({ "body": "Staging machines go first, from Monday 2027-03-01." }),
        )
        .await;
    assert_eq!(r.expect(StatusCode::CREATED)["post"], campaign_post);
}

/// Posts, their timeline and a correction, as the API and the public page show them.
async fn posts_and_corrections(api: &Api) {
    let incident = api
        .post_json(
            "/api/v1/posts",
            json!({
                "kind": "incident",
                "title": "Packet loss behind sw2",
                "body": "Machines in rack r2 lose packets.",
                "starts": "2027-02-15T08:30:00Z",
                "components": ["sw2", "rack-r2"],
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = incident["id"].as_i64().expect("the new post's id");
    assert_eq!((incident["state"].as_str(), incident["revision"].as_u64()), (Some("investigating"), Some(1)));
    assert_eq!(incident["components"], json!(["sw2", "rack-r2"]));

    // The switch's status on the status page, set while the incident is open.
    let sw2 =
        api.patch_json("/api/v1/components/sw2", json!({ "status": "partial_outage" })).await.expect(StatusCode::OK);
    assert_eq!((sw2["id"].as_str(), sw2["status"].as_str()), (Some("sw2"), Some("partial_outage")));
    let listed = api.get_anonymous("/api/v1/components").await.expect(StatusCode::OK);
    let status_of =
        |id: &str| listed.as_array().into_iter().flatten().find(|c| c["id"] == id).map(|c| c["status"].clone());
    assert_eq!(status_of("sw2"), Some(json!("partial_outage")));
    assert_eq!(status_of("sw1"), Some(json!("operational")));
    let front = api.get_anonymous("/").await.text();
    assert!(front.contains("data-status=\"partial_outage\""), "the front page shows the switch's status");
    let before = api.snapshot().await;
    api.patch_json("/api/v1/components/sw2", json!({ "status": "broken" })).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        &["broken"],
    );
    api.patch_json("/api/v1/components/sw9", json!({ "status": "degraded" })).await.refused(
        StatusCode::NOT_FOUND,
        "not_found",
        &["sw9"],
    );
    let anonymous = api
        .send(
            Method::PATCH,
            "/api/v1/components/sw2",
            Auth::Anonymous,
            Some("application/json"),
            Body::from("{\"status\":\"operational\"}"),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    api.unchanged(&before, "refused component changes").await;
    // Set back by hand, the switch still shows what the open incident (minor, by default)
    // makes of it; the worse of the two is shown.
    let sw2 = api.patch_json("/api/v1/components/sw2", json!({ "status": "operational" })).await.expect(StatusCode::OK);
    assert_eq!(
        (&sw2["status"], &sw2["manual_status"], &sw2["derived_status"]),
        (&json!("degraded"), &json!("operational"), &json!("degraded")),
        "{sw2}"
    );
    assert_eq!(incident["impact"], "minor", "an incident's default impact");

    let steps = [
        ("identified", "A faulty optic on sw2's uplink."),
        ("monitoring", "The optic is replaced."),
        ("resolved", "No loss for an hour."),
    ];
    for (state, body) in steps {
        let u = api
            .post_json(&format!("/api/v1/posts/{id}/updates"), json!({ "state": state, "body": body }))
            .await
            .expect(StatusCode::CREATED);
        assert_eq!((u["state"].as_str(), u["body"].as_str()), (Some(state), Some(body)));
        assert_eq!(u["author"], "token:the story");
    }
    // An update without a new state; a state the kind does not have.
    api.post_json(&format!("/api/v1/posts/{id}/updates"), json!({ "body": "Post-mortem follows." }))
        .await
        .expect(StatusCode::CREATED);
    let before = api.snapshot().await;
    api.post_json(&format!("/api/v1/posts/{id}/updates"), json!({ "state": "completed", "body": "x" })).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        &["completed", "resolved"],
    );
    api.unchanged(&before, "an update with another kind's state").await;

    // Resolved, the switch is back to what was set by hand.
    let listed = api.get_anonymous("/api/v1/components").await.expect(StatusCode::OK);
    let sw2 = listed.as_array().into_iter().flatten().find(|c| c["id"] == "sw2").unwrap();
    assert_eq!((&sw2["status"], &sw2["derived_status"]), (&json!("operational"), &json!("operational")), "{sw2}");

    let shown = api.get_anonymous(&format!("/api/v1/posts/{id}")).await.expect(StatusCode::OK);
    assert_eq!(shown["state"], "resolved");
    let timeline: Vec<(Value, Value)> =
        shown["updates"].as_array().unwrap().iter().map(|u| (u["state"].clone(), u["body"].clone())).collect();
    assert_eq!(
        timeline,
        [
            (json!("identified"), json!(steps[0].1)),
            (json!("monitoring"), json!(steps[1].1)),
            (json!("resolved"), json!(steps[2].1)),
            (Value::Null, json!("Post-mortem follows.")),
        ],
        "oldest first, as appended"
    );

    // A correction: revision 2, the old text kept with the note.
    let notice = api
        .post_json(
            "/api/v1/posts",
            json!({
                "kind": "maintenance",
                "title": "Router core1 software update",
                "body": "core1 restarts once; expect 2 minutes without routing.",
                "starts": "2027-04-13T20:00:00Z",
                "ends": "2027-04-13T21:00:00Z",
                "components": ["core1"],
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let nid = notice["id"].as_i64().unwrap();
    let corrected = api
        .patch_json(
            &format!("/api/v1/posts/{nid}"),
            json!({
                "note": "the outage is 5 minutes, not 2",
                "body": "core1 restarts once; expect 5 minutes without routing.",
            }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(corrected["revision"], 2);
    assert_eq!(corrected["body"], "core1 restarts once; expect 5 minutes without routing.");
    assert_eq!(corrected["title"], "Router core1 software update", "what the correction leaves stays");
    let shown = api.get_anonymous(&format!("/api/v1/posts/{nid}")).await.expect(StatusCode::OK);
    let revisions = shown["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 1, "{shown}");
    assert_eq!(revisions[0]["revision"], 2);
    assert_eq!(revisions[0]["note"], "the outage is 5 minutes, not 2");
    assert_eq!(revisions[0]["body"], "core1 restarts once; expect 2 minutes without routing.");
    let page = api.get_anonymous(&format!("/posts/{nid}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Corrected on"), "{html}");
    assert!(html.contains("the outage is 5 minutes, not 2"), "{html}");
    assert!(html.contains("expect 2 minutes"), "the old text stays visible: {html}");
    assert!(html.contains("expect 5 minutes"), "{html}");

    // The incident's page shows its timeline, newest first.
    let html = api.get_anonymous(&format!("/posts/{id}")).await.text();
    let timeline = section(&html, "timeline");
    let at = |s: &str| timeline.find(s).unwrap_or_else(|| panic!("`{s}` is not in the timeline: {timeline}"));
    assert!(at(steps[2].1) < at(steps[1].1) && at(steps[1].1) < at(steps[0].1), "{timeline}");
}

/// Script tags are text: accepted, and shown escaped.
async fn script_tags(api: &Api) {
    let post = api
        .post_json(
            "/api/v1/posts",
            json!({
                "kind": "notice",
                "title": "<script>alert('title')</script> New DNS resolvers",
                "body": "Use the new resolvers.\n\n<script>alert('body')</script>\n\n<img src=x onerror=alert('img')>\n\n[click](javascript:alert('link'))",
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = post["id"].as_i64().unwrap();
    assert_eq!(post["title"], "<script>alert('title')</script> New DNS resolvers", "stored as written");
    api.post_json(&format!("/api/v1/posts/{id}/updates"), json!({ "body": "<script>alert('update')</script>" }))
        .await
        .expect(StatusCode::CREATED);

    for path in [format!("/posts/{id}"), "/".to_owned(), "/history".to_owned()] {
        let r = api.get_anonymous(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.content_type().starts_with("text/html"), "{path}: {}", r.content_type());
        let html = r.text().to_ascii_lowercase();
        assert!(!html.contains("<script"), "{path} runs a script from the data: {html}");
        assert!(!html.contains("<img"), "{path} shows an image from the data: {html}");
        assert!(!html.contains("javascript:"), "{path} links to javascript: {html}");
        assert!(html.contains("&lt;script&gt;alert("), "{path} shows the tag as text: {html}");
    }
    let html = api.get_anonymous(&format!("/posts/{id}")).await.text();
    assert!(html.contains("&lt;script&gt;alert(&#39;update&#39;)") || html.contains("&lt;script&gt;alert('update')"));
    for path in ["/feed.atom", "/calendar.ics"] {
        let text = api.get_anonymous(path).await.text().to_ascii_lowercase();
        assert!(!text.contains("<script"), "{path} carries a raw script tag: {text}");
    }
}

/// Pause, resume, cancel; every move that is not allowed is refused and changes nothing.
async fn campaign_states(api: &Api, campaign_post: i64) {
    let state = |v: Value| v["state"].as_str().map(str::to_owned);
    let pause = format!("/api/v1/campaigns/{CAMPAIGN_ID}/pause");
    let before = api.snapshot().await;
    api.post_json(&pause, json!({ "why": "x" })).await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &["why"]);
    api.post_json(&pause, json!({ "reason": "The mirror is down until 2027-05-01." })).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "date_conflict",
        &["2027-05-01"],
    );
    api.unchanged(&before, "refused reasons").await;
    let paused = api.post_json(&pause, json!({ "reason": "The package mirror is out of sync." })).await;
    assert_eq!(state(paused.expect(StatusCode::OK)).as_deref(), Some("paused"));
    let before = api.snapshot().await;
    let r = api.campaign_action(CAMPAIGN_ID, "pause").await;
    assert!(r.status.is_client_error(), "pausing twice: {} {}", r.status, r.text());
    assert!(error_text(&r.json()).contains("paused"), "{}", r.text());
    api.campaign_action(CAMPAIGN_ID, "publish").await.refused(StatusCode::CONFLICT, "conflict", &["paused"]);
    api.unchanged(&before, "refused moves of a paused campaign").await;

    let resumed = api.campaign_action(CAMPAIGN_ID, "resume").await.expect(StatusCode::OK);
    assert_eq!(state(resumed).as_deref(), Some("published"));
    let r = api.campaign_action(CAMPAIGN_ID, "resume").await;
    assert!(r.status.is_client_error(), "resuming a running campaign: {} {}", r.status, r.text());

    // A cancellation says why, or is refused naming the field.
    let before = api.snapshot().await;
    api.campaign_action(CAMPAIGN_ID, "cancel").await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
        &["`reason`", "cancelled"],
    );
    let cancel = format!("/api/v1/campaigns/{CAMPAIGN_ID}/cancel");
    api.post_json(&cancel, json!({ "reason": "  " })).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
        &["`reason`"],
    );
    api.unchanged(&before, "cancelling without a reason").await;
    let why = "The new kernel breaks the storage driver; a new date follows.";
    let cancelled = api.post_json(&cancel, json!({ "reason": why })).await.expect(StatusCode::OK);
    assert_eq!(state(cancelled).as_deref(), Some("cancelled"));
    let post = api.get_anonymous(&format!("/api/v1/posts/{campaign_post}")).await.expect(StatusCode::OK);
    assert_eq!(post["state"], "cancelled", "{post}");
    let updates = post["updates"].as_array().unwrap();
    let bodies: Vec<&str> = updates.iter().map(|u| u["body"].as_str().unwrap()).collect();
    let last = updates.last().unwrap();
    assert_eq!(last["state"], "cancelled", "the campaign's post says it is cancelled: {post}");
    assert!(
        bodies.iter().any(|b| b.starts_with("Paused") && b.ends_with("Reason: The package mirror is out of sync.")),
        "{bodies:?}"
    );
    assert!(bodies.contains(&"Resumed."), "no reason, no reason line: {bodies:?}");
    assert!(last["body"].as_str().unwrap().contains("Cancelled"), "{last}");
    assert!(last["body"].as_str().unwrap().ends_with(&format!("Reason: {why}")), "{last}");
    let audit = api.store.audit(1000).await.unwrap();
    let cancel_row = audit.iter().find(|a| a.action == "campaign.cancel").unwrap();
    assert_eq!(cancel_row.detail["reason"], why);

    let before = api.snapshot().await;
    for action in ["pause", "resume", "cancel"] {
        let r = api.campaign_action(CAMPAIGN_ID, action).await;
        assert!(r.status.is_client_error(), "{action} a cancelled campaign: {} {}", r.status, r.text());
        assert!(error_text(&r.json()).contains("cancelled"), "{action}: {}", r.text());
    }
    api.campaign_action(CAMPAIGN_ID, "publish").await.refused(StatusCode::CONFLICT, "conflict", &["cancelled"]);
    api.campaign_action(CAMPAIGN_ID, "plan").await.refused(StatusCode::CONFLICT, "conflict", &["cancelled"]);
    api.unchanged(&before, "refused moves of a cancelled campaign").await;

    let shown = api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}")).await.expect(StatusCode::OK);
    assert_eq!(shown["state"], "cancelled");
    assert_eq!(shown["plans"].as_array().map(Vec::len), Some(2));
    let actions: Vec<String> = api.store.audit(1000).await.unwrap().into_iter().map(|a| a.action).collect();
    for a in ["campaign.create", "plan.add", "campaign.publish", "campaign.pause", "campaign.resume", "campaign.cancel"]
    {
        assert!(actions.iter().any(|x| x == a), "the audit log has no {a}: {actions:?}");
    }
}

/// The slot table of the published campaign: every target with customer, project, host and
/// tier, filtered by customer, and as CSV.
async fn slot_table(api: &Api, plan: &Value) {
    let uri = format!("/api/v1/campaigns/{CAMPAIGN_ID}/slots");
    let all = api.get(&uri).await.expect(StatusCode::OK);
    assert_eq!(all["plan_version"], 2);
    let table = all["table"].as_array().unwrap();
    assert_eq!(table.len(), 33, "every target of the plan: {all}");
    let scheduled = plan["slots"].as_array().unwrap().len();
    assert_eq!(table.iter().filter(|r| r["state"] == "planned").count(), scheduled);
    for r in table.iter().filter(|r| r["state"] == "unscheduled") {
        assert!(r["reason"].as_str().is_some_and(|w| !w.is_empty()) && r["start"].is_null(), "{r}");
    }
    let first = plan["slots"][0].clone();
    let row = table.iter().find(|r| r["target"] == first["machine"]).unwrap();
    assert_eq!(ts(row["start"].as_str().unwrap()), ts(first["start"].as_str().unwrap()));
    for key in ["customer", "project", "host", "tier"] {
        assert!(row[key].as_str().is_some_and(|v| !v.is_empty()), "{key} of {row}");
    }

    let harbor = api.get(&format!("{uri}?customer=harbor")).await.expect(StatusCode::OK);
    let rows = harbor["table"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() < 33, "{harbor}");
    assert!(rows.iter().all(|r| r["customer"] == "harbor"), "{harbor}");
    api.get(&format!("{uri}?customer=nobody")).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        &["`customer`", "nobody", "harbor"],
    );
    api.get(&format!("{uri}?format=xml")).await.refused(StatusCode::BAD_REQUEST, "bad_request", &["csv"]);

    let r = api.get(&format!("{uri}?format=csv&customer=harbor")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    let csv = r.text();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "target,customer,project,host,tier,start,end,state,sequence,reason");
    assert_eq!(lines.len(), rows.len() + 1, "{csv}");
    let first_row = &rows[0];
    let expected = format!(
        "{},harbor,{},{},{},{},{},planned,0,",
        first_row["target"].as_str().unwrap(),
        first_row["project"].as_str().unwrap(),
        first_row["host"].as_str().unwrap(),
        first_row["tier"].as_str().unwrap(),
        ts(first_row["start"].as_str().unwrap()),
        ts(first_row["end"].as_str().unwrap()),
    );
    assert_eq!(lines[1], expected, "{csv}");
    let accept = api.send(Method::GET, &uri, Auth::Token, None, Body::empty()).await;
    assert!(accept.content_type().starts_with("application/json"));
    let mut request = Request::builder().method(Method::GET).uri(&uri);
    request = request.header("authorization", format!("Bearer {TOKEN}")).header("accept", "text/csv");
    let response = api.router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert_eq!(String::from_utf8(bytes.to_vec()).unwrap().lines().count(), 34, "Accept: text/csv gives CSV");
}

/// What operators need besides the story: file names in diagnostics, editing a draft,
/// listing and revoking tokens.
async fn operator_tools(api: &Api) {
    // Diagnostics name the file as the client gave it, sanitised.
    let typo = CAMPAIGN.replace("id = \"os-update-2027-03\"", "id = \"typo\"\nstrat = \"spread\"");
    let line = typo.lines().position(|l| l.starts_with("strat")).unwrap() + 1;
    let before = api.snapshot().await;
    let text = api.post_toml("/api/v1/campaigns?file=typo-key.toml", &typo).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        &["strat"],
    );
    assert!(text.contains(&format!("typo-key.toml:{line}")), "{text}");
    assert!(!text.contains("campaign.toml"), "{text}");
    let text = api.post_toml("/api/v1/campaigns?file=..%2F..%2Fetc%2Fsecret%0A%1B%5B31m.toml", &typo).await.refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        &[],
    );
    assert!(text.contains(&format!("\nsecret[31m.toml:{line}")), "base name, printable only: {text}");
    api.post_toml("/api/v1/campaigns?file=c.json", &typo).await.refused(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        &["c.json", "application/json"],
    );
    let text = api.post("/api/v1/inventory?file=fleet.toml", "application/toml", "[platform]\nnmae = \"x\"\n").await;
    assert!(error_text(&text.json()).contains("fleet.toml:2"), "{}", text.text());
    api.unchanged(&before, "refused files").await;

    // A draft is edited; its id stays; a published (or cancelled) one is not.
    let fsck = include_str!("../../../examples/fsck.toml");
    api.post_toml("/api/v1/campaigns", fsck).await.expect(StatusCode::CREATED);
    let uri = "/api/v1/campaigns/fsck-2027-02";
    let put = |uri: String, body: String, file: &'static str| async move {
        let uri = if file.is_empty() { uri } else { format!("{uri}?file={file}") };
        api.send(Method::PUT, &uri, Auth::Token, Some("application/toml"), body.into()).await
    };
    api.campaign_action("fsck-2027-02", "plan").await.expect(StatusCode::CREATED);
    let before = api.snapshot().await;
    let renamed = fsck.replace("id = \"fsck-2027-02\"", "id = \"fsck-2\"");
    put(uri.into(), renamed, "").await.refused(StatusCode::UNPROCESSABLE_ENTITY, "id_changed", &["`id`", "fsck-2"]);
    let broken = fsck.replace("granularity = \"10m\"", "granularity = \"10 minutes\"");
    let text = put(uri.into(), broken, "fsck-v2.toml").await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &[]);
    assert!(text.contains("fsck-v2.toml:") && text.contains("granularity"), "{text}");
    put(format!("/api/v1/campaigns/{CAMPAIGN_ID}"), CAMPAIGN.to_owned(), "").await.refused(
        StatusCode::CONFLICT,
        "conflict",
        &["only a draft", "plan"],
    );
    put("/api/v1/campaigns/nope".into(), fsck.to_owned(), "").await.refused(StatusCode::NOT_FOUND, "not_found", &[]);
    api.unchanged(&before, "refused edits").await;
    let retitled = fsck.replace("Filesystem check, February 2027", "Filesystem check (ext4), February 2027");
    let v = put(uri.into(), retitled.clone(), "fsck.toml").await.expect(StatusCode::OK);
    assert_eq!(
        (v["title"].as_str(), v["state"].as_str()),
        (Some("Filesystem check (ext4), February 2027"), Some("draft"))
    );
    let row = api.store.audit(1).await.unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.subject.as_str()), ("campaign.edit", "fsck-2027-02"));
    assert_eq!(row.detail["previous"]["text"], fsck, "the old text is kept");
    // The plan made before the edit is not published.
    api.campaign_action("fsck-2027-02", "publish").await.refused(StatusCode::CONFLICT, "conflict", &["plan again"]);

    // Tokens: listed without hashes, revoked at once, audited.
    let other = "fw_the-other-token";
    let id =
        api.store.create_token(api.app.now(), "test", "ci", &forewarn_server::auth::hash_secret(other)).await.unwrap();
    let header = format!("Bearer {other}");
    let r = api.send(Method::GET, "/api/v1/campaigns", Auth::Header(&header), None, Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK);
    let listed = api.get("/api/v1/tokens").await.expect(StatusCode::OK);
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed}");
    assert_eq!((tokens[1]["id"].as_i64(), tokens[1]["name"].as_str()), (Some(id), Some("ci")));
    assert_eq!((tokens[1]["created_by"].as_str(), &tokens[1]["revoked"]), (Some("test"), &Value::Null));
    assert!(!listed.to_string().contains(&forewarn_server::auth::hash_secret(other)), "no hash: {listed}");
    let r = api.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Auth::Token, None, Body::empty()).await;
    let revoked = r.expect(StatusCode::OK);
    assert_eq!(revoked["revoked_by"], "token:the story");
    let r = api.send(Method::GET, "/api/v1/campaigns", Auth::Header(&header), None, Body::empty()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a revoked token is refused at once: {}", r.text());
    let before = api.snapshot().await;
    let r = api.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Auth::Token, None, Body::empty()).await;
    r.refused(StatusCode::CONFLICT, "conflict", &["revoked already"]);
    let r = api.send(Method::DELETE, "/api/v1/tokens/999", Auth::Token, None, Body::empty()).await;
    r.refused(StatusCode::NOT_FOUND, "not_found", &["token 999"]);
    api.unchanged(&before, "refused revocations").await;
    let row = api.store.audit(1).await.unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.subject.as_str()), ("token.revoke", id.to_string().as_str()));

    // A machine's token reaches nothing of the admin API, reading or writing, and is listed
    // with its machine.
    let agent = "fw_an-agents-token";
    let hash = forewarn_server::auth::hash_secret(agent);
    api.store.create_machine_token(api.app.now(), "test", "web01 agent", &hash, "web01").await.unwrap();
    let header = format!("Bearer {agent}");
    let before = api.snapshot().await;
    for (method, path) in
        [(Method::GET, "/api/v1/campaigns"), (Method::GET, "/api/v1/tokens"), (Method::DELETE, "/api/v1/tokens/1")]
    {
        let r = api.send(method, path, Auth::Header(&header), None, Body::empty()).await;
        r.refused(StatusCode::UNAUTHORIZED, "unauthorized", &["machine `web01`", "/agent/v1"]);
    }
    api.unchanged(&before, "a machine's token on the admin API").await;
    let listed = api.get("/api/v1/tokens").await.expect(StatusCode::OK);
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!((tokens[2]["name"].as_str(), tokens[2]["machine"].as_str()), (Some("web01 agent"), Some("web01")));
    assert!(tokens[0].get("machine").is_none(), "an API token names no machine: {listed}");
    agents_enrol(api, &header).await;
}

/// A machine's agent enrols with its machine's token, and with nothing else; the machine is
/// the token's, whatever the body says.
async fn agents_enrol(api: &Api, web01: &str) {
    let enrol = |auth: Auth<'static>, body: &str| {
        let body = Body::from(body.to_owned());
        async move { api.send(Method::POST, "/agent/v1/enrol", auth, Some("application/json"), body).await }
    };
    let report = r#"{"boot_id": "0b7c6d52-93f4-4e3a-9f8e-3f4c1a2b5d6e", "version": "forewarn 0.1.0"}"#;
    let r = api
        .send(Method::POST, "/agent/v1/enrol", Auth::Header(web01), Some("application/json"), Body::from(report))
        .await;
    let v = r.expect(StatusCode::OK);
    assert_eq!((v["machine"].as_str(), v["fleetlock_id"].as_str()), (Some("web01"), Some("web01")), "{v}");
    assert_eq!((v["poll_seconds"].as_u64(), v["warnings"].as_array().map(Vec::len)), (Some(60), Some(0)), "{v}");
    let agents = api.store.agents().await.unwrap();
    assert_eq!(
        (agents.len(), agents[0].machine.as_str(), agents[0].report.version.as_str()),
        (1, "web01", "forewarn 0.1.0")
    );
    let row = api.store.audit(1).await.unwrap().remove(0);
    assert_eq!(
        (row.action.as_str(), row.actor.as_str(), row.subject.as_str()),
        ("agent.enrol", "token:web01 agent", "web01")
    );

    // tracking-mq01 names its fleetlock_id in the inventory: FleetLock knows it by that, and
    // a different one reported is a warning for the operators.
    let mq = "fw_tracking-mq01-agent";
    let hash = forewarn_server::auth::hash_secret(mq);
    api.store.create_machine_token(api.app.now(), "test", "mq agent", &hash, "tracking-mq01").await.unwrap();
    let header = format!("Bearer {mq}");
    let body = r#"{"boot_id": "b1", "fleetlock_id": "0123456789abcdef0123456789abcdef", "version": "forewarn 0.1.0"}"#;
    let r = api
        .send(Method::POST, "/agent/v1/enrol", Auth::Header(&header), Some("application/json"), Body::from(body))
        .await;
    let v = r.expect(StatusCode::OK);
    assert_eq!(v["fleetlock_id"], "4b1c9e0f2d8a4e6b9c3f7a1d5e2b8c04", "{v}");
    assert!(v["warnings"][0].as_str().is_some_and(|w| w.contains("0123456789abcdef0123456789abcdef")), "{v}");

    // Nothing else enrols: no token, an API token, an unknown one; nor a body that names a
    // machine, or bad fields.
    let before = api.snapshot().await;
    for (auth, says) in [
        (Auth::Anonymous, "machine's token"),
        (Auth::Token, "this token is not a machine's"),
        (Auth::Header("Bearer fw_nobody"), "unknown or revoked"),
    ] {
        enrol(auth, report).await.refused(StatusCode::UNAUTHORIZED, "unauthorized", &[says]);
    }
    for (body, says) in [
        (r#"{"boot_id": "b1", "version": "v", "machine": "erp01"}"#, "unknown field `machine`"),
        (r#"{"boot_id": "", "version": "v"}"#, "`boot_id`"),
        (r#"{"boot_id": "a b", "version": "v"}"#, "`boot_id` contains ' '"),
        (r#"{"boot_id": "b1", "version": "v", "fleetlock_id": "x/y"}"#, "`fleetlock_id` contains '/'"),
        (r#"{"boot_id": "b1", "version": ""}"#, "`version`"),
    ] {
        let r = api
            .send(Method::POST, "/agent/v1/enrol", Auth::Header(web01), Some("application/json"), Body::from(body))
            .await;
        r.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &[says]);
    }
    api.unchanged(&before, "refused enrolments").await;

    // Operators see every agent as it last enrolled.
    let listed = api.get("/api/v1/agents").await.expect(StatusCode::OK);
    let agents = listed["agents"].as_array().unwrap();
    let machines: Vec<&str> = agents.iter().filter_map(|a| a["machine"].as_str()).collect();
    assert_eq!(machines, ["tracking-mq01", "web01"], "{listed}");
    assert_eq!(agents[0]["fleetlock_id"], "0123456789abcdef0123456789abcdef", "{listed}");
    assert_eq!(
        (agents[1]["boot_id"].as_str(), &agents[1]["fleetlock_id"]),
        (Some("0b7c6d52-93f4-4e3a-9f8e-3f4c1a2b5d6e"), &Value::Null)
    );
    let r = api.send(Method::GET, "/api/v1/agents", Auth::Header(web01), None, Body::empty()).await;
    r.refused(StatusCode::UNAUTHORIZED, "unauthorized", &["machine `web01`"]);
}

/// `/healthz` answers; `/metrics` counts what happened.
async fn health_and_metrics(api: &Api) {
    let r = api.get_anonymous("/healthz").await;
    assert_eq!((r.status, r.text().trim()), (StatusCode::OK, "ok"));

    let r = api.get_anonymous("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/plain"), "{}", r.content_type());
    let m = r.text();
    assert_eq!(requests_counted(&m, "POST", "/api/v1/campaigns", 201), 1, "{m}");
    assert_eq!(requests_counted(&m, "POST", "/api/v1/campaigns", 409), 2, "{m}");
    assert_eq!(requests_counted(&m, "POST", "/api/v1/campaigns/{id}/plan", 201), 2, "{m}");
    assert_eq!(requests_counted(&m, "POST", "/api/v1/campaigns/{id}/publish", 200), 1, "{m}");
    assert_eq!(requests_counted(&m, "POST", "/api/v1/inventory", 201), 1, "{m}");
    assert_eq!(requests_counted(&m, "POST", "/api/v1/inventory", 401), 5, "{m}");
    assert_eq!(requests_counted(&m, "GET", "/healthz", 200), 1, "{m}");
    assert!(m.contains("forewarn_campaigns{state=\"cancelled\"} 1"), "{m}");
    assert!(m.contains("forewarn_campaigns{state=\"published\"} 0"), "{m}");
    assert!(m.contains("forewarn_campaigns{state=\"draft\"} 0"), "{m}");
    let posts = api.store.posts().await.unwrap().len();
    assert!(m.contains(&format!("forewarn_posts {posts}")), "{m}");
    assert!(
        m.contains("forewarn_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/campaigns\"} 6"),
        "latencies are counted per route: {m}"
    );
}

/// An operation of the OpenAPI document.
#[derive(Debug)]
struct Documented {
    /// Lowercase, as the document has it.
    method: String,
    path: String,
    /// The first media type of its request body, if it takes one.
    body: Option<String>,
    /// Its success status.
    status: u16,
}

/// Every operation the document lists.
fn documented() -> Vec<Documented> {
    let doc = serde_json::to_value(forewarn_server::openapi::spec()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let body = op["requestBody"]["content"].as_object().and_then(|c| c.keys().next().cloned());
            let status = op["responses"]
                .as_object()
                .and_then(|r| r.keys().find(|s| s.starts_with('2')))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{method} {path} documents no success: {op}"));
            out.push(Documented { method: method.clone(), path: path.clone(), body, status });
        }
    }
    out
}

/// Every documented endpoint is routed: a request reaches a handler (no 404 for want of a
/// route, no 405), as `/metrics` confirms by its route pattern.
async fn every_endpoint_is_routed(api: &Api, post_id: i64) {
    let before = api.snapshot().await;
    let endpoints = documented();
    assert!(endpoints.len() >= 20, "{endpoints:?}");
    for e in &endpoints {
        let id = if e.path.starts_with("/api/v1/posts/") { post_id.to_string() } else { CAMPAIGN_ID.to_owned() };
        let uri = e.path.replace("{id}", &id);
        let uri = if uri.ends_with("/plan/diff") { format!("{uri}?from=1") } else { uri };
        let method: Method = e.method.to_ascii_uppercase().parse().unwrap();
        let ctype = e.body.as_deref();
        let r = api.send(method.clone(), &uri, Auth::Token, ctype, Body::empty()).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri} is not routed");
        if r.status == StatusCode::NOT_FOUND {
            // A handler's 404 says what is missing; the router's has no body.
            assert_eq!(r.json()["error"], "not_found", "{method} {uri}: {}", r.text());
        }
        if r.status.is_success() {
            assert_eq!(r.status.as_u16(), e.status, "{method} {uri} answers its documented status: {}", r.text());
        }
    }
    // Nothing above wrote: the writes are empty bodies or moves a cancelled campaign refuses.
    api.unchanged(&before, "one request to every endpoint").await;
    let m = api.get_anonymous("/metrics").await.text();
    for e in &endpoints {
        let method = e.method.to_ascii_uppercase();
        let prefix = format!("forewarn_http_requests_total{{method=\"{method}\",route=\"{}\",", e.path);
        assert!(m.lines().any(|l| l.starts_with(&prefix)), "{method} {} is not counted by its route: {m}", e.path);
    }
    assert!(!m.contains("route=\"unmatched\""), "a request found no route: {m}");
    // And an unknown path is a 404 counted as unmatched.
    assert_eq!(api.get_anonymous("/api/v1/nothing-here").await.status, StatusCode::NOT_FOUND);
    assert!(api.get_anonymous("/metrics").await.text().contains("route=\"unmatched\""));

    // The document lists exactly these endpoints, as OpenAPI 3.
    let doc = api.get_anonymous("/api/v1/openapi.json").await.expect(StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    for e in &endpoints {
        assert!(doc["paths"][&e.path][&e.method].is_object(), "{} {} is not served", e.method, e.path);
    }
}

/// The public feeds answer with their media types and list the story's posts.
async fn feeds(api: &Api) {
    let posts = api.store.posts().await.unwrap();
    let r = api.get_anonymous("/feed.atom").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("application/atom+xml"), "{}", r.content_type());
    assert_eq!(r.text().matches("<entry>").count() + r.text().matches("<entry ").count(), posts.len(), "{}", r.text());
    let r = api.get_anonymous("/calendar.ics").await;
    assert!(r.content_type().starts_with("text/calendar"), "{}", r.content_type());
    let ics = r.text();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
    assert!(ics.contains("STATUS:CANCELLED"), "the cancelled campaign stays, cancelled: {ics}");
}

/// The whole story, on one backend.
async fn story(store: Store) {
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    access(&api).await;
    bad_inventories(&api).await;
    import_inventory(&api).await;
    create_campaign(&api).await;
    draft_refusals(&api).await;
    let plan = plan_twice(&api).await;
    let campaign_post = publish(&api, &plan).await;
    slot_table(&api, &plan).await;
    bad_posts(&api, campaign_post).await;
    posts_and_corrections(&api).await;
    script_tags(&api).await;
    campaign_states(&api, campaign_post).await;
    health_and_metrics(&api).await;
    feeds(&api).await;
    operator_tools(&api).await;
    every_endpoint_is_routed(&api, campaign_post).await;
    api.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_story_on_sqlite() {
    let dir = TempDir::new("forewarn-server-api").unwrap();
    let store = Store::open(&dir.sqlite_url("story.db")).await.expect("open SQLite");
    story(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_story_on_postgres() {
    let Some(pg) = TestPostgres::start().await else { return };
    let store = Store::open(pg.url()).await.expect("open PostgreSQL");
    story(store).await;
}

/// By the schedule, the service tells webhooks (and only them) of the slots of its
/// published campaign that started and finished, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_start_and_finish_by_the_schedule() {
    let dir = TempDir::new("forewarn-server-progress").unwrap();
    let store = Store::open(&dir.sqlite_url("progress.db")).await.expect("open SQLite");
    let url = "https://hooks.example.net/forewarn";
    let hook = Webhook { url: url.into(), secret: "hook secret".into() };
    let api = Api::with_webhooks(store, ts("2027-02-15T09:00:00Z"), vec![hook]).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);
    let progress = || async { record_slot_progress(&api.app).await.expect("slot progress") };
    assert_eq!(progress().await, (0, 0), "nothing started yet");

    let slots = api.store.slot_notices(CAMPAIGN_ID).await.unwrap();
    assert!(!slots.is_empty());
    let first = slots.iter().map(|s| s.start).min().unwrap();
    let last = slots.iter().map(|s| s.end).max().unwrap();
    let messages = api.store.outbox_counts().await.unwrap();
    api.clock.advance(first.duration_since(api.clock.now()));
    let starting = slots.iter().filter(|s| s.start <= first).count();
    assert_eq!(progress().await, (starting, 0));
    assert_eq!(progress().await, (0, 0), "once");
    let counts = api.store.outbox_counts().await.unwrap();
    assert_eq!(counts.pending, messages.pending + 1, "one webhook event, no email");
    let listed = api.store.messages(None, 1, None).await.unwrap();
    let m = api.app.message(listed[0].id).await.unwrap().unwrap();
    assert_eq!((m.subject.as_str(), m.recipient.as_str()), ("slot.started", url));
    let body: Value = serde_json::from_str(&m.payload).unwrap();
    assert_eq!((&body["type"], &body["data"]["campaign"]), (&json!("slot.started"), &json!(CAMPAIGN_ID)));
    assert_eq!(body["data"]["source"], "schedule");
    assert_eq!(body["data"]["slots"].as_array().map(Vec::len), Some(starting), "{body}");

    api.clock.advance(last.duration_since(api.clock.now()));
    assert_eq!(progress().await, (slots.len() - starting, slots.len()));
    assert_eq!(progress().await, (0, 0));
    let audit = api.store.audit(1000).await.unwrap();
    for action in ["campaign.slots_started", "campaign.slots_finished"] {
        let row = audit.iter().find(|a| a.action == action).unwrap_or_else(|| panic!("no {action}"));
        assert_eq!((row.actor.as_str(), row.subject.as_str()), ("forewarn", CAMPAIGN_ID));
    }
    api.store.close().await;
}

/// A webhook's URL may hold the receiver's secret (Slack's do): the outbox's answers and a
/// publication's preview name the webhook by its place in the configuration, never by its URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_never_shows_a_webhooks_url() {
    let dir = TempDir::new("forewarn-server-hook-url").unwrap();
    let store = Store::open(&dir.sqlite_url("hooks.db")).await.expect("open SQLite");
    let url = "https://hooks.example.net/services/T0/B0/PATHSECRET?token=QUERYSECRET";
    let hook = Webhook { url: url.into(), secret: "hook secret".into() };
    let api = Api::with_webhooks(store, ts("2027-02-15T09:00:00Z"), vec![hook]).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
    let webhooks = |messages: &Value| -> Vec<Value> {
        let all = messages.as_array().cloned().unwrap_or_default();
        all.into_iter().filter(|m| m["channel"] == "webhook").collect()
    };

    let preview = api.campaign_action(CAMPAIGN_ID, "publish?preview=true").await.expect(StatusCode::OK);
    let told = webhooks(&preview["messages"]);
    assert!(!told.is_empty(), "publishing tells the webhook: {preview}");
    assert!(told.iter().all(|m| m["recipient"] == "webhooks[0]"), "{told:#?}");
    assert!(!preview.to_string().contains("SECRET"), "the preview shows the URL: {preview}");

    api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);
    let stored = api.store.messages(None, 1000, None).await.unwrap();
    assert!(stored.iter().any(|m| m.recipient == url), "the outbox keeps the URL to deliver to");
    let outbox = api.get("/api/v1/outbox").await.expect(StatusCode::OK);
    let listed = webhooks(&outbox["messages"]);
    assert!(!listed.is_empty(), "{outbox}");
    assert!(listed.iter().all(|m| m["recipient"] == "webhooks[0]"), "{listed:#?}");
    assert!(!outbox.to_string().contains("SECRET"), "the outbox shows the URL: {outbox}");
    for m in &listed {
        let one = api.get(&format!("/api/v1/outbox/{}", m["id"])).await.expect(StatusCode::OK);
        assert_eq!(one["recipient"], "webhooks[0]", "{one}");
        assert!(one["payload"].is_string(), "{one}");
        assert!(!one.to_string().contains("SECRET"), "the message shows the URL: {one}");
    }
    api.store.close().await;
}

/// A target the published plan left without a slot is placed by hand: checked like a move,
/// it leaves the unscheduled list for a slot, its contacts are told of the new slot, and
/// the preview of the placement writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_a_slot_is_placed_by_hand() {
    let dir = TempDir::new("forewarn-server-place").unwrap();
    let store = Store::open(&dir.sqlite_url("place.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);

    // A newer version without one production slot (as an earlier inventory might have left
    // it), published: that machine is unscheduled, with a reason.
    let v1 = api.store.plan(CAMPAIGN_ID, Some(1)).await.unwrap().unwrap();
    let mut plan: Value = serde_json::from_str(&v1.json).unwrap();
    let slots = plan["slots"].as_array_mut().unwrap();
    let at = slots.len() - 1;
    let taken = slots.remove(at);
    let target = taken["machine"].as_str().unwrap().to_owned();
    plan["unscheduled"].as_array_mut().unwrap().push(json!({ "machine": target, "reason": "left out for the test" }));
    let version = api
        .store
        .add_plan(api.clock.now(), "test", CAMPAIGN_ID, v1.inventory_version, &plan.to_string(), &v1.summary)
        .await
        .unwrap();
    api.post_json(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/publish"), json!({ "version": version }))
        .await
        .expect(StatusCode::OK);
    let told = api.store.slot_notices(CAMPAIGN_ID).await.unwrap();
    assert!(told.iter().any(|n| n.target == target && n.change == forewarn_store::SlotChange::Cancelled));

    // Placed where it was: a preview tells its contacts of a new slot and writes nothing.
    let uri = format!("/api/v1/campaigns/{CAMPAIGN_ID}/slots/{target}");
    let body = json!({ "start": taken["start"] });
    let before = (api.store.plans(CAMPAIGN_ID).await.unwrap().len(), api.store.outbox_counts().await.unwrap());
    let preview = api.post_json(&format!("{uri}?preview=true"), body.clone()).await.expect(StatusCode::OK);
    assert_eq!(preview["written"], false);
    let messages = preview["messages"].as_array().unwrap();
    assert!(!messages.is_empty() && messages.iter().all(|m| m["channel"] == "email"), "{preview:#}");
    assert!(messages.iter().all(|m| m["text"].as_str().unwrap().contains(&target)), "{preview:#}");
    let after = (api.store.plans(CAMPAIGN_ID).await.unwrap().len(), api.store.outbox_counts().await.unwrap());
    assert_eq!(before, after, "a preview writes nothing");

    // Outside every window it is refused, naming what it breaks.
    let midday = taken["start"].as_str().unwrap().parse::<Timestamp>().unwrap() + SignedDuration::from_hours(12);
    let r = api.post_json(&uri, json!({ "start": midday.to_string() })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("window"), "{}", r.text());

    // Placed: a slot in the new version, out of the unscheduled list, told as new.
    let placed = api.post_json(&uri, body).await.expect(StatusCode::OK);
    assert_eq!(placed["target"], target.as_str());
    let newest = api.store.plan(CAMPAIGN_ID, None).await.unwrap().unwrap();
    let file: Value = serde_json::from_str(&newest.json).unwrap();
    let slot = file["slots"].as_array().unwrap().iter().find(|s| s["machine"] == target.as_str()).cloned();
    assert!(slot.is_some_and(|s| s["reason"].as_str().unwrap().starts_with("placed by")), "{file:#}");
    assert!(file["unscheduled"].as_array().unwrap().iter().all(|u| u["machine"] != target.as_str()));
    assert_eq!(newest.summary["placed"]["target"], target.as_str(), "{}", newest.summary);
    let notice = api.store.slot_notices(CAMPAIGN_ID).await.unwrap().into_iter().find(|n| n.target == target).unwrap();
    assert_eq!(notice.change, forewarn_store::SlotChange::Unchanged);
    assert!(notice.sequence >= 2, "told, cancelled, told again: {notice:?}");
    api.store.close().await;
}

/// Every error under `/api/` is the JSON error document, also where axum's extractors
/// refuse by themselves: a path or query that does not parse (400), no such endpoint (404),
/// a method the endpoint does not take (405), a body too large (413), a body of another
/// media type (415). None of them changes anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_error_is_json() {
    let dir = TempDir::new("forewarn-server-json-errors").unwrap();
    let store = Store::open(&dir.sqlite_url("errors.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    let before = api.snapshot().await;
    let cases: Vec<(Reply, StatusCode, &str, &str)> = vec![
        (api.get("/api/v1/outbox/not-a-number").await, StatusCode::BAD_REQUEST, "bad_request", "parse"),
        (
            api.get(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan?version=seven")).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "version",
        ),
        (
            api.post(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/plan?fresh=maybe"), "application/json", "").await,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "fresh",
        ),
        (api.get("/api/v1/no-such-thing").await, StatusCode::NOT_FOUND, "not_found", "no-such-thing"),
        (
            api.send(Method::DELETE, "/api/v1/posts", Auth::Token, None, Body::empty()).await,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "DELETE",
        ),
        (
            api.post("/api/v1/posts", "application/json", vec![b' '; 3 << 20]).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "larger",
        ),
        (
            api.post("/api/v1/posts", "text/plain", "title").await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type",
        ),
        (api.post("/api/v1/posts", "application/json", "{").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid", "body"),
    ];
    for (reply, status, code, word) in cases {
        assert!(reply.content_type().starts_with("application/json"), "{status}: {}", reply.content_type());
        reply.refused(status, code, &[word]);
    }
    api.unchanged(&before, "refused requests").await;
    api.store.close().await;
}

/// Free text has limits per field: a refusal (422) names the field and the limit (or the
/// character), and changes nothing. Inventory and campaign files are refused by their
/// validation, with file, line and field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_has_limits() {
    let dir = TempDir::new("forewarn-server-text-limits").unwrap();
    let store = Store::open(&dir.sqlite_url("limits.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    let post = api
        .post_json("/api/v1/posts", json!({ "kind": "notice", "title": "Hello", "body": "A notice." }))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    let before = api.snapshot().await;
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;

    let notice = |title: String, body: String| json!({ "kind": "notice", "title": title, "body": body });
    let huge = "x".repeat(1_900_000);
    for (body, words) in [
        (notice(huge.clone(), "b".into()), &["`title`", "1900000", "at most 200"][..]),
        (notice("t".repeat(201), "b".into()), &["`title`", "at most 200"]),
        (notice("a\nb".into(), "b".into()), &["`title`", "U+000A"]),
        (notice("evil \u{202E}txt".into(), "b".into()), &["`title`", "U+202E"]),
        (notice("t".into(), "b".repeat(20_001)), &["`body`", "at most 20000"]),
        (notice("t".into(), "nul\0".into()), &["`body`", "NUL"]),
    ] {
        api.post_json("/api/v1/posts", body).await.refused(invalid, "invalid", words);
    }
    let r = api.post_json(&format!("/api/v1/posts/{post}/updates"), json!({ "body": "u".repeat(20_001) })).await;
    r.refused(invalid, "invalid", &["`body`", "at most 20000"]);
    let r = api.patch_json(&format!("/api/v1/posts/{post}"), json!({ "note": "n".repeat(2_001), "body": "x" })).await;
    r.refused(invalid, "invalid", &["`note`", "at most 2000"]);
    let r = api.patch_json(&format!("/api/v1/posts/{post}"), json!({ "note": "typo", "title": "t".repeat(201) })).await;
    r.refused(invalid, "invalid", &["`title`", "at most 200"]);
    let r = api.post_json(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/cancel"), json!({ "reason": "bell\u{7}" })).await;
    r.refused(invalid, "invalid", &["`reason`", "U+0007"]);

    // Files: the platform's name of 300,000 characters, a contact's name over two lines.
    let long_name = INVENTORY.replacen("name = \"", &format!("name = \"{}", "p".repeat(300_000)), 1);
    let r = api.post_toml("/api/v1/inventory?file=big.toml", &long_name).await;
    r.refused(invalid, "invalid", &["big.toml:", "name", "at most 200"]);
    let title = CAMPAIGN.lines().find(|l| l.starts_with("title")).unwrap();
    let long_title = CAMPAIGN.replacen(title, &format!("title = \"{}\"", "t".repeat(201)), 1);
    let r = api.post_toml("/api/v1/campaigns?file=c.toml", &long_title).await;
    r.refused(invalid, "invalid", &["c.toml:", "title", "at most 200"]);
    api.unchanged(&before, "text over its limits").await;
    api.store.close().await;
}

/// A TOML basic string holding `s`, every control character escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Values an attacker or a careless paste puts into text fields: line breaks (mail header
/// injection), NUL, other control characters, bidirectional overrides and isolates, very
/// long values, and two values that are fine (markup characters and letters of other
/// scripts; a name of exactly the limit).
fn nasty_values() -> Vec<(&'static str, String)> {
    vec![
        ("newline", "Ana\nBcc: all@example.net".to_owned()),
        ("crlf", "Ana\r\nSubject: hi".to_owned()),
        ("nul", "Ana\0Ops".to_owned()),
        ("escape", "Ana\u{1b}[31mOps".to_owned()),
        ("rtl override", "Ana \u{202E}spO".to_owned()),
        ("isolate", "Ana \u{2067}Ops\u{2069}".to_owned()),
        ("very long", "x".repeat(300_000)),
        ("markup and scripts", "Zoë <b>&amp;\"'</b> 名前 Ωμέγα".to_owned()),
        ("at the limit", "y".repeat(200)),
    ]
}

/// Asserts an answer is a refusal (4xx, the JSON error document) or a success, never a
/// server error or an empty reply.
#[track_caller]
fn sound(r: &Reply, what: &str) -> bool {
    assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.text());
    assert!(!r.body.is_empty(), "{what}: an empty reply ({})", r.status);
    if r.status.is_client_error() {
        assert!(!r.json()["message"].as_str().unwrap_or_default().is_empty(), "{what}: {}", r.text());
    }
    r.status.is_success()
}

/// No text in the inventory, the campaign or a post makes the service fail: every value is
/// refused with a 4xx or goes all the way through publishing and delivery (capture mode).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_text_makes_the_service_fail() {
    let inventory_fields = [
        "name = \"Lindenau Hosting\"",
        "reason = \"year-end change freeze\"",
        "name = \"Nordlicht Reisen GmbH\"",
        "name = \"Jana Becker\"",
        "email = \"jana.becker@nordlicht-reisen.example\"",
        "name = \"Booking platform\"",
        "rack = \"r1\"",
        "services = [\"http\"]",
        "id = \"nordlicht\"",
        "id = \"booking-stg-web01\"",
    ];
    let campaign_fields = ["title = \"Operating system update, March 2027\"", "{ kind = \"reboot\""];
    let dir = TempDir::new("forewarn-server-nasty").unwrap();
    let mut n = 0;
    let mut delivered = 0;
    let cases = inventory_fields.iter().map(|f| (true, *f)).chain(campaign_fields.iter().map(|f| (false, *f)));
    for (in_inventory, field) in cases {
        for (label, value) in nasty_values() {
            n += 1;
            let what = format!("{field} as {label}");
            let (key, _) = field.split_once(" = ").unwrap();
            let replacement = match key {
                "services" => format!("services = [{}]", toml_string(&value)),
                "{ kind" => format!("{{ kind = {}", toml_string(&value)),
                _ => format!("{key} = {}", toml_string(&value)),
            };
            let (inventory, campaign) = if in_inventory {
                assert!(INVENTORY.contains(field), "{field}");
                (INVENTORY.replacen(field, &replacement, 1), CAMPAIGN.to_owned())
            } else {
                assert!(CAMPAIGN.contains(field), "{field}");
                (INVENTORY.to_owned(), CAMPAIGN.replacen(field, &replacement, 1))
            };
            let store = Store::open(&dir.sqlite_url(&format!("nasty{n}.db"))).await.expect("open SQLite");
            let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
            let ok = sound(&api.post_toml("/api/v1/inventory", &inventory).await, &what)
                && sound(&api.post_toml("/api/v1/campaigns", &campaign).await, &what)
                && sound(&api.campaign_action(CAMPAIGN_ID, "plan").await, &what)
                && sound(&api.campaign_action(CAMPAIGN_ID, "publish").await, &what);
            if ok {
                let deliverer = api.app.deliverer(forewarn_notify::deliver::Options::default()).unwrap();
                let round = deliverer.round(&|| api.app.now()).await.expect("a delivery round");
                assert_eq!(round.dead, 0, "{what}: {round:?}");
                delivered += round.sent;
                for page in ["/", "/history", "/feed.atom", "/calendar.ics"] {
                    sound(&api.get_anonymous(page).await, &format!("{what}: {page}"));
                }
            } else {
                assert!(
                    !matches!(label, "markup and scripts" | "at the limit")
                        || field.starts_with("email")
                        || field.starts_with("id")
                        || field.starts_with("{ kind"),
                    "{what} is refused"
                );
            }
            api.store.close().await;
        }
    }
    assert!(delivered > 0, "the values that are fine were delivered");

    // Posts: title, body, an update's body, a correction's note and title.
    let store = Store::open(&dir.sqlite_url("posts.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    let post = api
        .post_json("/api/v1/posts", json!({ "kind": "incident", "title": "Slow", "body": "We look." }))
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    for (label, value) in nasty_values() {
        let what = |f: &str| format!("post {f} as {label}");
        for (title, body) in [(value.as_str(), "body"), ("title", value.as_str())] {
            let r = api.post_json("/api/v1/posts", json!({ "kind": "notice", "title": title, "body": body })).await;
            if sound(&r, &what("title/body")) {
                let id = r.json()["id"].as_i64().unwrap();
                sound(&api.get_anonymous(&format!("/posts/{id}")).await, &what("page"));
            }
        }
        let r = api.post_json(&format!("/api/v1/posts/{post}/updates"), json!({ "body": value })).await;
        sound(&r, &what("update"));
        let r = api.patch_json(&format!("/api/v1/posts/{post}"), json!({ "note": value, "body": "Fixed." })).await;
        sound(&r, &what("note"));
        let r = api.patch_json(&format!("/api/v1/posts/{post}"), json!({ "note": "typo", "title": value })).await;
        sound(&r, &what("corrected title"));
        for page in ["/", "/history", "/feed.atom", "/calendar.ics", &format!("/posts/{post}")] {
            sound(&api.get_anonymous(page).await, &what(page));
        }
    }
    api.store.close().await;
}

/// A link of `kind` (`subscribe/confirm`, `unsubscribe`) in the newest message to `to`, as a
/// path: the payload's quoted-printable soft breaks and `=3D` undone.
async fn link_to(api: &Api, to: &str, kind: &str) -> String {
    let messages = api.store.messages(None, 100, None).await.unwrap();
    let newest = messages.iter().find(|m| m.recipient == to).unwrap_or_else(|| panic!("no message to {to}"));
    let mail = api.app.message(newest.id).await.unwrap().expect("the message");
    let payload = mail.payload.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let start = payload.find(&format!("/{kind}?token=")).unwrap_or_else(|| panic!("no {kind} link: {payload}"));
    let end = payload[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || "/?=.-_".contains(c)))
        .map_or(payload.len(), |n| start + n);
    payload[start..end].to_owned()
}

/// `POST /subscribe` as an attacker uses it: 50 requests for one address from 50 clients
/// queue one mail; a confirmed subscription changes only through a link sent to it; the
/// page is the same whatever the address's state. One client may ask 10 times an hour, all
/// clients together 30 times a minute; beyond: 429 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_cannot_flood_or_probe_an_address() {
    let dir = TempDir::new("forewarn-server-subscribe").unwrap();
    let store = Store::open(&dir.sqlite_url("subscribe.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    let form = |email: &str, language: &str| format!("email={}&language={language}", email.replace('@', "%40"));
    let api = &api;
    // Each request a minute after the one before (the test clock's step), from client `n`.
    let subscribe = |n: u32, body: String| async move {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/subscribe")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let client = std::net::SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 40_000));
        request.extensions_mut().insert(axum::extract::ConnectInfo(client));
        api.clock.advance(SignedDuration::from_mins(1));
        let response = api.router.clone().oneshot(request).await.expect("the router answers");
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Reply { status, headers, body }
    };
    let mails = || async { api.store.outbox_counts().await.unwrap().pending };

    let first = subscribe(0, form("victim@example.net", "en")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    for n in 1..50 {
        let again = subscribe(n, form("victim@example.net", "de")).await;
        assert_eq!(again.body, first.body, "the page does not change");
    }
    assert_eq!(mails().await, 1, "50 requests, one confirmation");

    // Following the link confirms the first request's choices.
    let confirm = link_to(api, "victim@example.net", "subscribe/confirm").await;
    let page = api.get_anonymous(&confirm).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("You are subscribed"), "{}", page.text());
    let [confirmed] = <[_; 1]>::try_from(api.store.subscribers().await.unwrap()).unwrap();
    assert_eq!((confirmed.language.as_str(), confirmed.confirmed.is_some()), ("en", true));

    // Confirmed: a request for it reads the same and changes nothing; the address itself is
    // sent a link that would change it.
    api.clock.advance(SignedDuration::from_hours(2));
    let after = subscribe(60, form("victim@example.net", "de")).await;
    assert_eq!(after.body, first.body, "the page does not tell a confirmed address");
    assert_eq!(api.store.subscribers().await.unwrap(), std::slice::from_ref(&confirmed));
    assert_eq!(mails().await, 2);
    let change = link_to(api, "victim@example.net", "subscribe/confirm").await;
    assert_ne!(change, confirm, "each request has a link of its own");
    // A new address gets the same page too (apart from the address it was given).
    let other = subscribe(61, form("other@example.net", "en")).await;
    assert_eq!(other.text().replace("other@example.net", "victim@example.net"), first.text());
    assert_eq!(mails().await, 3);

    // The old link does nothing more; the new one changes the subscription.
    assert!(api.get_anonymous(&confirm).await.text().contains("This link was used already"));
    assert_eq!(api.store.subscribers().await.unwrap()[0], confirmed);
    assert!(api.get_anonymous(&change).await.text().contains("Your subscription is changed"));
    assert_eq!(api.store.subscribers().await.unwrap()[0].language, "de");
    // The change request carried an unsubscribe link: a GET asks, a POST ends it, once.
    let unsubscribe = link_to(api, "victim@example.net", "unsubscribe").await;
    let ask = api.get_anonymous(&unsubscribe).await;
    assert!(ask.text().contains("id=\"unsubscribe\"") && ask.text().contains("victim@example.net"), "{}", ask.text());
    let done = api.send(Method::POST, &unsubscribe, Auth::Anonymous, None, Body::empty()).await;
    assert!(done.text().contains("Unsubscribed"), "{}", done.text());
    assert!(api.store.subscribers().await.unwrap().iter().all(|s| s.email != "victim@example.net"));
    let again = api.send(Method::POST, &unsubscribe, Auth::Anonymous, None, Body::empty()).await;
    assert!(again.text().contains("Not subscribed"), "{}", again.text());
    // A changed token, or one past its lifetime, does not work.
    let bad = api.get_anonymous(&format!("{unsubscribe}x")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    api.clock.advance(forewarn_notify::UNSUBSCRIBE_LIFETIME);
    let expired = api.get_anonymous(&unsubscribe).await;
    assert!(expired.text().contains("expired"), "{}", expired.text());

    // One client: 10 requests an hour, then 429 with the wait.
    api.clock.advance(SignedDuration::from_hours(2));
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for i in 0..12 {
            v.push(subscribe(7777, form(&format!("c{i}@example.net"), "en")).await.status.as_u16());
        }
        v
    };
    let allowed = forewarn_server::subscribe::REQUESTS_PER_CLIENT_HOUR as usize;
    assert_eq!(statuses[..allowed], vec![200; allowed], "{statuses:?}");
    assert_eq!(statuses[allowed..], [429, 429], "{statuses:?}");

    // All clients together: at most the limit a minute, then 429 with Retry-After.
    let mut refused = 0;
    for i in 0..forewarn_server::subscribe::REQUESTS_PER_MINUTE + 5 {
        // All within one minute: back by the minute the request adds, and a second on.
        api.clock.advance(SignedDuration::from_secs(-59));
        let r = subscribe(1000 + i, form(&format!("n{i}@example.net"), "en")).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
            refused += 1;
        }
    }
    assert_eq!(refused, 5);
    api.store.close().await;
}

/// Every answer, pages, feeds, the API and errors alike, carries the security headers; HSTS
/// because the site is reached over https.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let dir = TempDir::new("forewarn-server-headers").unwrap();
    let store = Store::open(&dir.sqlite_url("headers.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    for uri in ["/", "/history", "/feed.atom", "/calendar.ics", "/admin/login", "/api/v1/openapi.json", "/nowhere"] {
        let r = api.get(uri).await;
        let header = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(!csp.contains("script-src"), "{uri}: no script is allowed: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{uri}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(header("referrer-policy"), "same-origin", "{uri}");
        assert_eq!(header("strict-transport-security"), "max-age=31536000", "{uri}");
    }
    api.store.close().await;
}

/// A campaign cancelled after its first slots began cancels only the slots still ahead:
/// what has begun took place, and its contacts get no `METHOD:CANCEL` for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_leaves_the_slots_that_have_begun() {
    let dir = TempDir::new("forewarn-server-cancel-late").unwrap();
    let store = Store::open(&dir.sqlite_url("cancel.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);
    let told = api.store.slot_notices(CAMPAIGN_ID).await.unwrap();
    let first = told.iter().map(|n| n.start).min().unwrap();
    // Just after the first slots began.
    api.clock.advance(first.duration_since(api.clock.now()) + SignedDuration::from_secs(1));
    let begun: Vec<&str> = told.iter().filter(|n| n.start < api.clock.now()).map(|n| n.target.as_str()).collect();
    assert!(!begun.is_empty() && begun.len() < told.len(), "{begun:?} of {}", told.len());
    api.post_json(&format!("/api/v1/campaigns/{CAMPAIGN_ID}/cancel"), json!({ "reason": "The mirror broke." }))
        .await
        .expect(StatusCode::OK);
    for n in api.store.slot_notices(CAMPAIGN_ID).await.unwrap() {
        let cancelled = n.change == forewarn_store::SlotChange::Cancelled;
        assert_eq!(cancelled, !begun.contains(&n.target.as_str()), "{n:?}");
    }
    // The cancellation mail names no slot that began.
    let listed = api.store.messages(None, 1000, None).await.unwrap();
    let cancellations: Vec<_> = listed
        .iter()
        .filter(|m| m.cause.ends_with("cancelled") && m.channel == forewarn_store::Channel::Email)
        .collect();
    assert!(!cancellations.is_empty(), "the contacts of the slots ahead are told");
    for m in cancellations {
        let full = api.app.message(m.id).await.unwrap().unwrap();
        let cancel = forewarn_notify::read::text_parts(&full.payload)
            .into_iter()
            .filter(|(kind, _)| kind == "text/calendar")
            .map(|(_, text)| text)
            .collect::<String>();
        for target in &begun {
            assert!(!cancel.contains(&format!(".{target}@")), "{target} began and is not cancelled: {cancel}");
        }
    }
    api.store.close().await;
}

/// Routes are declared once, and the document is made from the same declaration: every
/// routed `/api/` and `/agent/` path and method is documented, and every documented one is routed. The
/// routed paths are the router's own (its `Debug` lists them); a method counts as routed
/// when a request with it reaches a handler rather than the router's 405.
#[tokio::test]
async fn every_routed_endpoint_is_documented_and_every_documented_one_routed() {
    use std::collections::BTreeSet;
    let dir = TempDir::new("forewarn-server-routes").unwrap();
    let store = Store::open(&dir.sqlite_url("routes.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    let listing = format!("{:?}", api.router);
    let paths: BTreeSet<String> =
        listing.split('"').filter(|s| s.starts_with("/api/") || s.starts_with("/agent/")).map(str::to_owned).collect();
    assert!(paths.contains("/api/v1/campaigns/{id}/slots/{target}"), "the router lists its paths: {listing}");
    let mut routed = BTreeSet::new();
    for path in &paths {
        // Ids nobody has: a request reaches the handler, which finds nothing and writes nothing.
        let uri = path.replace("{id}", "999999").replace("{target}", "nobody");
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = api.send(method.clone(), &uri, Auth::Token, None, Body::empty()).await;
            assert!(!r.status.is_server_error(), "{method} {uri}: {}", r.text());
            if r.status != StatusCode::METHOD_NOT_ALLOWED {
                routed.insert((method.as_str().to_ascii_lowercase(), path.clone()));
            }
        }
    }
    let documented: BTreeSet<(String, String)> = documented().into_iter().map(|e| (e.method, e.path)).collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not documented: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");
    assert!(routed.len() >= 25, "{routed:?}");
}

/// The outbox holds intents: publishing writes one small row per contact, and each message
/// is rendered from stored rows when it is read or delivered, the same bytes every time,
/// in another process after a restart too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_renders_to_the_same_bytes_after_a_restart() {
    let dir = TempDir::new("forewarn-server-intents").unwrap();
    let url = dir.sqlite_url("intents.db");
    let api = Api::new(Store::open(&url).await.expect("open SQLite"), ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    api.post_toml("/api/v1/campaigns", CAMPAIGN).await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);
    let listed = api.store.messages(None, 1000, None).await.unwrap();
    assert!(listed.len() > 2, "publishing told contacts: {listed:?}");
    let mut before = Vec::new();
    for m in &listed {
        let stored = api.store.message(m.id).await.unwrap().unwrap();
        assert!(stored.intent.is_some() && stored.payload.is_empty(), "an intent, not mail: {stored:?}");
        let shown = api.app.message(m.id).await.unwrap().unwrap();
        assert!(shown.payload.contains(&format!("Message-ID: <{}>", m.key)), "{}", shown.payload);
        assert_eq!(api.app.message(m.id).await.unwrap().unwrap().payload, shown.payload, "rendered twice, same bytes");
        before.push(shown.payload);
    }
    assert!(before.iter().any(|p| p.contains("Jana Becker")), "a message to the contact renamed below");
    // The service stops; another one starts on the same file, later, with another inventory
    // imported meanwhile: the messages are the same bytes.
    api.store.close().await;
    drop(api);
    let later = Api::started(Store::open(&url).await.expect("open SQLite again"), ts("2027-02-16T10:00:00Z"), vec![]);
    let moved = INVENTORY.replace("Lindenau", "Elsewhere").replace("Jana Becker", "Jana Schmidt");
    later.post_toml("/api/v1/inventory", &moved).await.expect(StatusCode::CREATED);
    for (m, payload) in listed.iter().zip(&before) {
        assert_eq!(&later.app.message(m.id).await.unwrap().unwrap().payload, payload, "message {}", m.key);
    }
    // Delivery renders them the same way: the capture mailbox marks them sent as they are.
    let deliverer = later.app.deliverer(forewarn_notify::deliver::Options::default()).unwrap();
    let round = deliverer.round(&|| later.app.now()).await.expect("a delivery round");
    assert_eq!((round.sent, round.dead), (listed.len(), 0));
    for (m, payload) in listed.iter().zip(&before) {
        assert_eq!(&later.app.message(m.id).await.unwrap().unwrap().payload, payload);
    }
    later.store.close().await;
}

/// Publishing a FleetLock group (a campaign with mode = "fleetlock") announces its period on
/// the status page, and tells each contact which of their machines reboot when their updates
/// arrive, each with its maintenance window: no slots, no calendar entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_fleetlock_group_tells_contacts_their_machines_and_windows() {
    let dir = TempDir::new("forewarn-server-group").unwrap();
    let store = Store::open(&dir.sqlite_url("group.db")).await.expect("open SQLite");
    let api = Api::new(store, ts("2027-02-15T09:00:00Z")).await;
    api.post_toml("/api/v1/inventory", INVENTORY).await.expect(StatusCode::CREATED);
    let group = CAMPAIGN.replacen("title =", "mode = \"fleetlock\"\ntitle =", 1);
    api.post_toml("/api/v1/campaigns", &group).await.expect(StatusCode::CREATED);
    api.campaign_action(CAMPAIGN_ID, "plan").await.expect(StatusCode::CREATED);
    let preview = api.campaign_action(CAMPAIGN_ID, "publish?preview=true").await.expect(StatusCode::OK);
    let emails: Vec<&Value> =
        preview["messages"].as_array().unwrap().iter().filter(|m| m["channel"] == "email").collect();
    assert!(!emails.is_empty(), "{preview:#}");
    for m in &emails {
        let (subject, text) = (m["subject"].as_str().unwrap(), m["text"].as_str().unwrap());
        assert!(subject.starts_with("Planned maintenance: ") || subject.starts_with("Geplante Wartung: "), "{subject}");
        assert!(text.contains("There are no fixed slots") || text.contains("Es gibt keine festen Termine"), "{text}");
        assert!(text.contains("inside its maintenance window, "), "{text}");
        assert!(!text.contains("no slot"), "{text}");
    }
    api.campaign_action(CAMPAIGN_ID, "publish").await.expect(StatusCode::OK);
    let posts = api.store.posts_of_campaign(CAMPAIGN_ID).await.unwrap();
    assert!(posts[0].body.contains("There are no fixed slots"), "{}", posts[0].body);
    assert!(posts[0].starts.is_some() && posts[0].ends.is_some());
    assert!(api.store.slot_notices(CAMPAIGN_ID).await.unwrap().is_empty());
    api.store.close().await;
}
